// Asio's TLS layer (asio::ssl, over OpenSSL), compiled once like the rest (net/asio_impl.cpp).
#include <asio/ssl/impl/src.hpp>
