#include "response_guard.hpp"

namespace iobench::detail {

bool response_guard::on_header(std::string_view line) {
  // libcurl versions that hand trailers to the header callback too: the body carries them.
  if (framing_.head_done()) return true;
  framing_.feed(line);
  return !framing_.bad();
}

bool response_guard::on_body(std::string_view bytes) {
  framing_.feed(bytes);
  return !framing_.bad();
}

}  // namespace iobench::detail
