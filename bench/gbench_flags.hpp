// Google Benchmark parses its flags in Initialize and exports them (as its own
// src/commandlineflags.h declares them), but 1.7.1 has a getter for the filter only. Reading its
// values, rather than argv again, keeps its rules (environment variables included).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

namespace benchmark {
BENCHMARK_EXPORT extern std::string FLAGS_benchmark_format;
BENCHMARK_EXPORT extern std::string FLAGS_benchmark_out;
BENCHMARK_EXPORT extern std::string FLAGS_benchmark_out_format;
BENCHMARK_EXPORT extern bool FLAGS_benchmark_list_tests;
BENCHMARK_EXPORT extern int32_t FLAGS_benchmark_repetitions;
}  // namespace benchmark
