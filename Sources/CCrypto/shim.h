// OpenSSL's libcrypto, for SHA-256 (its assembly uses the SHA-NI instructions where present).
#include <openssl/evp.h>
