// The results' `models` context: the registry, then the references, as docs/results.md spells it.
#include "reporting.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "reference.hpp"
#include "suite.hpp"

namespace {

using namespace iobench;
using namespace iobench::bench;

TEST(Reporting, ModelsContextIsTheRegistryThenTheReferences) {
  const auto doc = boost::json::parse(models_json()).as_array();
  ASSERT_EQ(doc.size(), models().size() + references().size());
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const auto& row = doc[i].as_object();
    const bool reference = i >= models().size();
    const auto& want = reference ? references()[i - models().size()].info : models()[i];
    EXPECT_EQ(row.size(), 10U);
    EXPECT_EQ(row.at("name").as_string(), want.name);
    EXPECT_EQ(row.at("kind").as_string(), reference ? "reference" : "model");
    EXPECT_EQ(row.at("one_at_a_time").as_bool(), want.one_at_a_time);
    EXPECT_EQ(row.at("baseline").as_bool(), want.baseline);
    EXPECT_EQ(row.at("https").as_bool(), want.https) << want.name;
    EXPECT_EQ(row.at("summary").as_string(), want.summary);
    EXPECT_EQ(row.at("library").as_string(), want.library);
    EXPECT_EQ(row.at("mechanism").as_string(), want.mechanism);
    EXPECT_EQ(row.at("interface").as_string(), want.interface);
    const auto runtime = row.at("runtime").as_string();
    if (reference) {
      EXPECT_EQ(runtime, want.name == "wrk" ? "wrk" : references()[i - models().size()].runtime);
    } else {
      EXPECT_EQ(runtime, "c++");
    }
    EXPECT_FALSE(want.mechanism.empty()) << want.name << ": every row says how it overlaps";
  }
}

}  // namespace
