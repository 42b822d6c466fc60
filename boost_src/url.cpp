// Boost.URL built from its headers; see CMakeLists.txt here.
#include <boost/url/src.hpp>
