// Why a certificate authority and a server certificate, not one self-signed certificate: a chain
// of an authority and the server certificate it signed (CA:FALSE, serverAuth, the names in
// subjectAltName) is what a real deployment presents, so each client verifies it along its usual
// path. One self-signed certificate that is both trust anchor and server certificate is a case
// verifiers treat each in their own way (strict modes check a CA's key usage, for one). The keys
// are P-256: cheap to make at start-up and what most servers offer.
#include "tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <fstream>
#include <stdexcept>

namespace iobench::mock::detail {
namespace {

namespace asio = boost::asio;

template <class T, void (*Free)(T*)>
struct freer {
  void operator()(T* p) const { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, freer<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, freer<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, freer<BIO, BIO_free_all>>;

// The last OpenSSL error as text, or `fallback`.
std::string openssl_error(const std::string& fallback) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return fallback;
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

void check(int ok, const char* what) {
  if (ok != 1)
    throw std::runtime_error(std::string("tls: ") + what + ": " + openssl_error("failed"));
}

pkey_ptr make_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("tls: cannot make a P-256 key: " + openssl_error("failed"));
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) throw std::runtime_error("tls: bad extension " + value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(ok, "add an extension");
}

// A certificate for `subject_key`, named `common_name`, issued by `issuer` (itself when null);
// the caller adds its extensions and signs it.
x509_ptr make_certificate(EVP_PKEY* subject_key, const std::string& common_name, X509* issuer) {
  x509_ptr cert(X509_new());
  if (!cert) throw std::runtime_error("tls: out of memory");
  check(X509_set_version(cert.get(), 2), "set the version");  // v3: extensions
  unsigned char serial[16];
  check(RAND_bytes(serial, sizeof serial), "draw a serial number");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  // From an hour ago: a client whose clock is a little behind still accepts it.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  check(X509_set_pubkey(cert.get(), subject_key), "set the public key");
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                   -1, 0),
        "name the certificate");
  X509* signer = issuer != nullptr ? issuer : cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)), "name the issuer");
  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  return cert;
}

std::string pem_of(X509* cert) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(bio.get(), cert), "write a certificate");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(n)};
}

std::string pem_of(EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "write a key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(n)};
}

// localhost, the loopback addresses, and the bound address where it is a specific one.
std::string alt_names(const std::string& bind_address) {
  std::string names = "DNS:localhost,IP:127.0.0.1,IP:::1";
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(bind_address, ec);
  if (!ec && !addr.is_unspecified() && !addr.is_loopback()) names += ",IP:" + addr.to_string();
  return names;
}

}  // namespace

generated_identity generate_identity(const std::string& bind_address) {
  const pkey_ptr ca_key = make_key();
  const x509_ptr ca = make_certificate(ca_key.get(), "iobench mock_server CA", nullptr);
  add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()) > 0 ? 1 : 0, "sign the authority");

  const pkey_ptr key = make_key();
  const x509_ptr cert = make_certificate(key.get(), "localhost", ca.get());
  add_extension(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), ca.get(), NID_subject_alt_name, alt_names(bind_address));
  check(X509_sign(cert.get(), ca_key.get(), EVP_sha256()) > 0 ? 1 : 0, "sign the certificate");
  return {pem_of(ca.get()), pem_of(cert.get()), pem_of(key.get())};
}

std::unique_ptr<asio::ssl::context> make_tls_context(const tls_config& cfg,
                                                     const std::string& bind_address) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  check(SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION), "set TLS 1.2 as the minimum");
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::single_dh_use);
  boost::system::error_code ec;
  if (!cfg.cert_file.empty()) {
    ctx->use_certificate_chain_file(cfg.cert_file, ec);
    if (ec) {
      throw std::runtime_error("--cert " + cfg.cert_file + ": " + openssl_error(ec.message()));
    }
    ctx->use_private_key_file(cfg.key_file, asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("--key " + cfg.key_file + ": " + openssl_error(ec.message()));
  } else {
    const auto id = generate_identity(bind_address);
    ctx->use_certificate_chain(asio::buffer(id.cert_pem));
    ctx->use_private_key(asio::buffer(id.key_pem), asio::ssl::context::pem);
    if (!cfg.cert_out.empty()) {
      std::ofstream out(cfg.cert_out, std::ios::binary | std::ios::trunc);
      out << id.ca_pem;
      out.close();
      if (!out) throw std::runtime_error("--cert-out " + cfg.cert_out + ": cannot write it");
    }
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error("--key " + cfg.key_file + ": does not match the certificate");
  }
  if (cfg.tickets) {
    // Resumption both ways: tickets (stateless), and the server's session cache for TLS 1.2
    // clients that offer a session id instead.
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
    static constexpr unsigned char kContext[] = "iobench-mock";
    SSL_CTX_set_session_id_context(native, kContext, sizeof kContext - 1);
  } else {
    SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(native, 0);
  }
  return ctx;
}

}  // namespace iobench::mock::detail
