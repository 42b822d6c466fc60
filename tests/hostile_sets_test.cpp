// Every model against the generated hostile sets (tests/support/hostile_sets.hpp): every cut of a
// response's head or body, by FIN and by RST, and every framing variant RFC 9112 takes or
// rejects, each with the one verdict the error table (docs/models.md) gives it.
#include "hostile_sets.hpp"

#include <gtest/gtest.h>

#include <string>

#include "hostile_server.hpp"
#include "impls/fetcher.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace iobench;
using iobench::test::hostile_case;
using iobench::test::hostile_cases;
using iobench::test::hostile_server;

class Generated : public iobench::test::model_test {
 protected:
  // Fetches every case whose name starts with `set`, one batch each (a fresh connection), and
  // lists every verdict that is not the case's.
  void expect_verdicts(std::string_view set) {
    Options o;
    o.timeout = 3s;
    auto fetcher = make_fetcher(GetParam(), o);
    const auto& cases = hostile_cases();
    std::size_t checked = 0;
    std::string wrong;
    std::size_t wrong_count = 0;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const hostile_case& c = cases[i];
      if (!c.name.starts_with(set)) continue;
      ++checked;
      const auto out = fetcher->fetch_all(
          std::vector<Request>{{server_.url() + "/case?n=" + std::to_string(i)}});
      ASSERT_EQ(out.size(), 1U);
      const Outcome& r = out[0];
      const bool right = r.error == c.error && (c.error != ErrorKind::none ||
                                                (r.status == c.status && r.body_bytes == c.body));
      if (right) continue;
      if (++wrong_count <= 40) {
        wrong += "\n  " + c.name + ": want " + std::string(to_string(c.error)) +
                 (c.error == ErrorKind::none
                      ? " " + std::to_string(c.status) + "/" + std::to_string(c.body)
                      : "") +
                 ", got " + std::string(to_string(r.error)) + " " + std::to_string(r.status) + "/" +
                 std::to_string(r.body_bytes) + " (" + r.detail + ")";
      }
    }
    EXPECT_GT(checked, 0U) << set;
    EXPECT_EQ(wrong_count, 0U) << wrong_count << " of " << checked << " " << set
                               << " cases got another verdict:" << wrong;
  }
  hostile_server server_;
};

TEST_P(Generated, EveryCutOfAResponseHasOneVerdict) { expect_verdicts("cut/"); }

TEST_P(Generated, FramingIsJudgedByRfc9112) { expect_verdicts("framing/"); }

TEST_P(Generated, TheMockServersTruncatedBodilessAnswerIsABadResponse) {
  // fail=truncate on a status without a body cuts the head after its status line: a response
  // cut short, whatever the model, and the connection's next request is unharmed.
  test::running_server s;
  const std::string u = s.url();
  const std::vector<Request> reqs{{u + "/f?fail=truncate&status=204"},
                                  {u + "/n?bytes=3"},
                                  {u + "/f?fail=truncate&status=304"},
                                  {u + "/n?bytes=4"},
                                  {u + "/f?fail=truncate&status=204&chunked=1"}};
  Options o;
  o.timeout = 5s;
  const auto out = make_fetcher(GetParam(), o)->fetch_all(reqs);
  ASSERT_EQ(out.size(), reqs.size());
  for (const std::size_t i : {0U, 2U, 4U}) {
    EXPECT_EQ(to_string(out[i].error), to_string(ErrorKind::bad_response))
        << reqs[i].url << ": status " << out[i].status << " " << out[i].detail;
  }
  EXPECT_TRUE(out[1].succeeded() && out[1].body_bytes == 3) << out[1].detail;
  EXPECT_TRUE(out[3].succeeded() && out[3].body_bytes == 4) << out[3].detail;
  EXPECT_EQ(s.stats().faults, 3U);
}

INSTANTIATE_TEST_SUITE_P(AllModels, Generated, ::testing::ValuesIn(fetcher_names()),
                         test::model_test_name);

}  // namespace
