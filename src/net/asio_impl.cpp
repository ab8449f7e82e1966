// With ASIO_SEPARATE_COMPILATION, Asio's non-template code is compiled here, once.
#include <asio/impl/src.hpp>
