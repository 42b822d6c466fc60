// Boost.JSON built from its headers; see CMakeLists.txt here.
#include <boost/json/src.hpp>
