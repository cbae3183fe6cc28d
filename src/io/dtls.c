/* SPDX-License-Identifier: BSD-2-Clause */
/* dtls.c - coaps sessions on OpenSSL 3 (see dtls.h; RFC 7252 section 9,
 * RFC 6347).
 *
 * No socket and no thread per peer: every SSL object reads and writes
 * through a BIO of ours (dtls_bio_*) that hands it the one datagram being
 * processed and passes each datagram it writes to the send callback, so the
 * io loop's recvmmsg feeds every session.
 *
 * A server keeps no state for a source that has not answered a cookie
 * (RFC 6347 section 4.2.1): a ClientHello from an unknown source goes to
 * one listening SSL object (DTLSv1_listen), which answers a
 * HelloVerifyRequest no larger than the ClientHello (no amplification) and
 * forgets it. A ClientHello that returns the cookie proves the source
 * receives at its address; only then does the listening object become that
 * peer's session, and a fresh one listens. The cookie is an HMAC of the
 * source address under a secret drawn at start.
 *
 * Bounds: max_sessions sessions in all, max_handshakes of them still
 * handshaking (handshake_timeout_s each at most); an established session
 * idle for idle_timeout_s is closed with close_notify, and so is every
 * session when the io is freed. Key material never leaves OpenSSL and
 * this file's callbacks; nothing here logs. */
#include "io/dtls.h"

#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/ilist.h"
#include "base/keyhash.h"
#include "base/slots.h"
#include "io/addr.h"

#define DTLS_MTU 1280                 /* IPv6's minimum: never fragmented */
#define DTLS_EVICT_IDLE_MS 10000u     /* full: the least active may go after this */
#define DTLS_QUEUE 4                  /* client messages waiting for a handshake */
#define DTLS_IDENTITY_MAX 128
#define DTLS_COOKIE_LEN 16

typedef struct dtls_sess {
    struct tern_dtls *d;
    SSL *ssl;
    tern_addr peer;
    bool used, established;
    uint32_t hnext;     /* hash chain; free list */
    tern_ilink link;    /* d->handshaking, or d->idle (least recently active first) */
    uint64_t started, last;
    char identity[DTLS_IDENTITY_MAX + 1];
    uint8_t nq;         /* client: messages waiting for the handshake */
    uint16_t qlen[DTLS_QUEUE];
    uint8_t *q[DTLS_QUEUE];
} dtls_sess;

struct tern_dtls {
    tern_io_dtls_config cfg;
    bool server;
    SSL_CTX *ctx;
    BIO_METHOD *bio_method;
    tern_dtls_send_fn send;
    tern_dtls_deliver_fn deliver;
    void *cb_ctx;
    dtls_sess *v;
    uint32_t cap, mask, *buckets, n_handshaking;
    tern_slots slots; /* free sessions: hnext */
    tern_ilist handshaking, idle;
    dtls_sess listener; /* server: the SSL object that answers cookies */
    tern_hkey hkey;
    uint8_t cookie_secret[32];
    const uint8_t *in; /* the datagram being processed, until read */
    size_t in_len;
    uint8_t plain[2048];
    tern_io_dtls_stats st;
};

/* ---- the BIO: one datagram in, each write one datagram out ------------------ */

static int dtls_bio_write(BIO *b, const char *data, int len) {
    dtls_sess *s = BIO_get_data(b);
    if (len < 0) return -1;
    s->d->send(s->d->cb_ctx, &s->peer, (const uint8_t *)data, (size_t)len);
    return len;
}

static int dtls_bio_read(BIO *b, char *out, int cap) {
    dtls_sess *s = BIO_get_data(b);
    struct tern_dtls *d = s->d;
    BIO_clear_retry_flags(b);
    if (d->in == NULL) {
        BIO_set_retry_read(b);
        return -1;
    }
    /* A datagram is read whole or not at all: DTLS records never span
     * datagrams, and a cut one would fail its MAC anyway. */
    if (cap < 0 || d->in_len > (size_t)cap) {
        d->in = NULL;
        return -1;
    }
    memcpy(out, d->in, d->in_len);
    int n = (int)d->in_len;
    d->in = NULL;
    return n;
}

static long dtls_bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b, (void)num, (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU: return DTLS_MTU - 48;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD: return 48; /* IPv6 + UDP */
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT: return 1;  /* the loop asks DTLSv1_get_timeout */
    default: return 0;                               /* peer queries: the callbacks know it */
    }
}

static int dtls_bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

/* ---- sessions ---------------------------------------------------------------- */

static uint32_t sess_bucket(const tern_dtls *d, const tern_addr *peer) {
    return tern_tablehash2(&d->hkey, peer->bytes, peer->len, (const uint8_t *)"D", 1) & d->mask;
}

static dtls_sess *sess_find(const tern_dtls *d, const tern_addr *peer) {
    for (uint32_t i = d->buckets[sess_bucket(d, peer)]; i != TERN_NIL; i = d->v[i].hnext)
        if (tern_addr_equal(&d->v[i].peer, peer)) return &d->v[i];
    return NULL;
}

static uint32_t sess_index(const tern_dtls *d, const dtls_sess *s) { return (uint32_t)(s - d->v); }

static tern_ilist *sess_list(tern_dtls *d, const dtls_sess *s) {
    return s->established ? &d->idle : &d->handshaking;
}

/* Attach an SSL object to s: our BIO, s as its app data, the MTU. */
static bool sess_attach(tern_dtls *d, dtls_sess *s, SSL *ssl) {
    /* A new SSL object gets a BIO; the listener's, becoming a session,
     * keeps its own (with the ClientHello it holds). */
    BIO *bio = SSL_get_rbio(ssl) == NULL ? BIO_new(d->bio_method) : NULL;
    if (bio) {
        SSL_set_bio(ssl, bio, bio);
    } else if (SSL_get_rbio(ssl) == NULL) {
        return false;
    }
    BIO_set_data(SSL_get_rbio(ssl), s);
    SSL_set_app_data(ssl, s);
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(ssl, DTLS_MTU - 48);
    s->ssl = ssl;
    return true;
}

static dtls_sess *sess_new(tern_dtls *d, const tern_addr *peer, SSL *ssl, uint64_t now) {
    if (!tern_slots_any(&d->slots)) return NULL;
    uint32_t i = TERN_SLOTS_TAKE(&d->slots, d->v, hnext);
    dtls_sess *s = &d->v[i];
    memset(s, 0, sizeof *s);
    s->d = d;
    s->used = true;
    s->peer = *peer;
    s->started = s->last = now;
    if (!sess_attach(d, s, ssl)) {
        s->used = false;
        TERN_SLOTS_GIVE(&d->slots, d->v, hnext, i);
        return NULL;
    }
    uint32_t b = sess_bucket(d, peer);
    s->hnext = d->buckets[b];
    d->buckets[b] = i;
    TERN_ILIST_APPEND(&d->handshaking, d->v, link, i);
    d->n_handshaking++;
    return s;
}

/* End s: close_notify first when it was established and notify is set. */
static void sess_end(tern_dtls *d, dtls_sess *s, bool notify) {
    uint32_t i = sess_index(d, s);
    if (notify && s->established) SSL_shutdown(s->ssl);
    SSL_free(s->ssl);
    s->ssl = NULL;
    for (unsigned k = 0; k < s->nq; k++) free(s->q[k]);
    s->nq = 0;
    uint32_t *p = &d->buckets[sess_bucket(d, &s->peer)];
    while (*p != i) p = &d->v[*p].hnext;
    *p = s->hnext;
    TERN_ILIST_UNLINK(sess_list(d, s), d->v, link, i);
    if (!s->established) d->n_handshaking--;
    else d->st.sessions--;
    s->used = false;
    TERN_SLOTS_GIVE(&d->slots, d->v, hnext, i);
}

static void sess_touch(tern_dtls *d, dtls_sess *s, uint64_t now) {
    s->last = now;
    if (!s->established) return;
    uint32_t i = sess_index(d, s);
    TERN_ILIST_UNLINK(&d->idle, d->v, link, i);
    TERN_ILIST_APPEND(&d->idle, d->v, link, i);
}

/* The name the peer proved: its PSK identity, else its certificate's CN. */
static void sess_identity(dtls_sess *s) {
    s->identity[0] = '\0';
    const char *psk = SSL_get_psk_identity(s->ssl);
    if (psk && s->d->server) {
        snprintf(s->identity, sizeof s->identity, "%s", psk);
        return;
    }
    X509 *cert = SSL_get0_peer_certificate(s->ssl);
    if (cert) {
        X509_NAME *name = X509_get_subject_name(cert);
        if (X509_NAME_get_text_by_NID(name, NID_commonName, s->identity, sizeof s->identity) < 0)
            s->identity[0] = '\0';
    }
}

/* Try to complete s's handshake with what has arrived. False when s ended. */
static bool sess_handshake(tern_dtls *d, dtls_sess *s, uint64_t now) {
    int r = SSL_do_handshake(s->ssl);
    if (r == 1) {
        uint32_t i = sess_index(d, s);
        TERN_ILIST_UNLINK(&d->handshaking, d->v, link, i);
        s->established = true;
        d->n_handshaking--;
        d->st.sessions++;
        d->st.handshakes_done++;
        TERN_ILIST_APPEND(&d->idle, d->v, link, i);
        sess_identity(s);
        s->last = now;
        for (unsigned k = 0; k < s->nq; k++) { /* a client's waiting messages */
            SSL_write(s->ssl, s->q[k], s->qlen[k]);
            free(s->q[k]);
        }
        s->nq = 0;
        return true;
    }
    int e = SSL_get_error(s->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return true;
    d->st.handshakes_failed++; /* OpenSSL has sent its alert */
    ERR_clear_error();
    sess_end(d, s, false);
    return false;
}

/* Hand every record of the datagram in d->in to s: plaintext to deliver. */
static void sess_read(tern_dtls *d, dtls_sess *s, uint64_t now) {
    const tern_addr plain = s->peer;
    tern_addr from = plain;
    tern_iop_addr_mark_secure(&from);
    for (;;) {
        int n = SSL_read(s->ssl, d->plain, (int)sizeof d->plain);
        if (n > 0) {
            sess_touch(d, s, now);
            d->deliver(d->cb_ctx, &from, d->plain, (size_t)n, now);
            /* what deliver did may have ended s: look it up again */
            s = sess_find(d, &plain);
            if (s == NULL) return;
            continue;
        }
        int e = SSL_get_error(s->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
        /* close_notify (SSL_ERROR_ZERO_RETURN) or a fatal alert: gone. */
        ERR_clear_error();
        sess_end(d, s, e == SSL_ERROR_ZERO_RETURN);
        return;
    }
}

/* ---- the cookie exchange (RFC 6347 section 4.2.1) -------------------------- */

static int cookie_of(const dtls_sess *s, uint8_t *out, unsigned *len) {
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (!HMAC(EVP_sha256(), s->d->cookie_secret, (int)sizeof s->d->cookie_secret, s->peer.bytes,
              s->peer.len, md, &md_len) ||
        md_len < DTLS_COOKIE_LEN)
        return 0;
    memcpy(out, md, DTLS_COOKIE_LEN);
    *len = DTLS_COOKIE_LEN;
    return 1;
}

static int cookie_generate(SSL *ssl, unsigned char *cookie, unsigned int *len) {
    const dtls_sess *s = SSL_get_app_data(ssl);
    if (cookie_of(s, cookie, len) != 1) return 0;
    s->d->st.hello_verify_sent++;
    return 1;
}

static int cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int len) {
    const dtls_sess *s = SSL_get_app_data(ssl);
    uint8_t want[DTLS_COOKIE_LEN];
    unsigned want_len = 0;
    return cookie_of(s, want, &want_len) == 1 && len == want_len &&
           CRYPTO_memcmp(cookie, want, want_len) == 0;
}

/* A ClientHello, in epoch 0: the start of a handshake. */
static bool is_client_hello(const uint8_t *p, size_t n) {
    return n >= 13 + 1 && p[0] == 22 && p[3] == 0 && p[4] == 0 && p[13] == 1;
}

static bool listener_reset(tern_dtls *d) {
    SSL *ssl = SSL_new(d->ctx);
    if (ssl == NULL) return false;
    d->listener.d = d;
    if (!sess_attach(d, &d->listener, ssl)) {
        SSL_free(ssl);
        return false;
    }
    return true;
}

/* Room for one more session: a free entry, or the least recently active
 * one idle long enough to go. */
static bool make_room(tern_dtls *d, uint64_t now) {
    if (d->n_handshaking >= d->cfg.max_handshakes) return false;
    if (tern_slots_any(&d->slots)) return true;
    if (d->idle.head == TERN_NIL) return false;
    dtls_sess *oldest = &d->v[d->idle.head];
    if (now - oldest->last < DTLS_EVICT_IDLE_MS) return false;
    sess_end(d, oldest, true);
    return true;
}

/* A datagram from a source without a session (or a new ClientHello from
 * one with): the cookie exchange, and a session once it is answered. */
static void accept_hello(tern_dtls *d, const tern_addr *peer, const uint8_t *data, size_t len,
                         uint64_t now) {
    if (!is_client_hello(data, len)) return; /* nothing to do with it: no answer */
    d->listener.peer = *peer;
    d->in = data;
    d->in_len = len;
    BIO_ADDR *client = BIO_ADDR_new();
    int r = client ? DTLSv1_listen(d->listener.ssl, client) : -1;
    BIO_ADDR_free(client);
    d->in = NULL;
    if (r <= 0) { /* a cookie was asked for, or the datagram dropped */
        ERR_clear_error();
        return;
    }
    /* The source returned our cookie: it receives at its address. */
    dtls_sess *old = sess_find(d, peer);
    if (old) sess_end(d, old, false); /* the client started again */
    if (!make_room(d, now)) {
        d->st.refused_full++;
        SSL_clear(d->listener.ssl);
        return;
    }
    SSL *ssl = d->listener.ssl;
    d->listener.ssl = NULL;
    dtls_sess *s = sess_new(d, peer, ssl, now);
    if (s == NULL) {
        SSL_free(ssl);
    } else {
        sess_handshake(d, s, now);
    }
    listener_reset(d); /* on failure the next hello finds no listener */
}

/* ---- credentials -------------------------------------------------------------- */

static unsigned int psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk,
                                  unsigned int max_psk_len) {
    const dtls_sess *s = SSL_get_app_data(ssl);
    const tern_dtls *d = s->d;
    if (d->cfg.psk_lookup == NULL || identity == NULL) return 0;
    int n = d->cfg.psk_lookup(d->cfg.psk_ctx, identity, psk, max_psk_len);
    return n > 0 && (unsigned)n <= max_psk_len ? (unsigned)n : 0;
}

static unsigned int psk_client_cb(SSL *ssl, const char *hint, char *identity,
                                  unsigned int max_identity_len, unsigned char *psk,
                                  unsigned int max_psk_len) {
    (void)hint;
    const dtls_sess *s = SSL_get_app_data(ssl);
    const tern_dtls *d = s->d;
    size_t id_len = d->cfg.psk_identity ? strlen(d->cfg.psk_identity) : 0;
    if (id_len == 0 || id_len + 1 > max_identity_len || d->cfg.psk_key_len == 0 ||
        d->cfg.psk_key_len > max_psk_len)
        return 0;
    memcpy(identity, d->cfg.psk_identity, id_len + 1);
    memcpy(psk, d->cfg.psk_key, d->cfg.psk_key_len);
    return (unsigned)d->cfg.psk_key_len;
}

/* RFC 7252 section 9.1.3's suites first, then the nearest AEAD ones. */
static const char dtls_ciphers[] = "PSK-AES128-CCM8:ECDHE-ECDSA-AES128-CCM8:PSK-AES128-GCM-SHA256:"
                                   "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                   "PSK-AES128-CCM:ECDHE-ECDSA-AES128-CCM";

static int ctx_setup(tern_dtls *d, char *why, size_t why_cap) {
    const tern_io_dtls_config *c = &d->cfg;
    d->ctx = SSL_CTX_new(d->server ? DTLS_server_method() : DTLS_client_method());
    if (d->ctx == NULL) return TERN_E_NOMEM;
    SSL_CTX_set_min_proto_version(d->ctx, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(d->ctx, DTLS1_2_VERSION);
    /* CCM_8's 64-bit tag sits below OpenSSL's default security level 1 in
     * 3.0's view of some builds; section 9 requires it. */
    SSL_CTX_set_security_level(d->ctx, 0);
    if (SSL_CTX_set_cipher_list(d->ctx, dtls_ciphers) != 1) {
        snprintf(why, why_cap, "OpenSSL offers none of the coaps cipher suites");
        return TERN_E_INVAL;
    }
    SSL_CTX_set_read_ahead(d->ctx, 1);
    /* No resumption: OpenSSL's session cache would keep an entry for each
     * handshake (up to 20,480 of them) and a ticket costs a message; a
     * CoAP session lives long, and a new one is a full handshake. */
    SSL_CTX_set_session_cache_mode(d->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(d->ctx, SSL_OP_NO_TICKET);
    if (c->cert_file || c->key_file) {
        if (!c->cert_file || !c->key_file) {
            snprintf(why, why_cap, "a certificate needs both a certificate file and a key file");
            return TERN_E_INVAL;
        }
        if (SSL_CTX_use_certificate_chain_file(d->ctx, c->cert_file) != 1) {
            snprintf(why, why_cap, "%s: not a PEM certificate", c->cert_file);
            return TERN_E_INVAL;
        }
        if (SSL_CTX_use_PrivateKey_file(d->ctx, c->key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(d->ctx) != 1) {
            snprintf(why, why_cap, "%s: not the PEM private key of %s", c->key_file, c->cert_file);
            return TERN_E_INVAL;
        }
    }
    if (c->ca_file) {
        if (SSL_CTX_load_verify_locations(d->ctx, c->ca_file, NULL) != 1) {
            snprintf(why, why_cap, "%s: no PEM CA certificate in it", c->ca_file);
            return TERN_E_INVAL;
        }
        SSL_CTX_set_verify(d->ctx, SSL_VERIFY_PEER, NULL);
    }
    if (d->server) {
        if (c->psk_lookup) {
            SSL_CTX_set_psk_server_callback(d->ctx, psk_server_cb);
            if (c->psk_identity_hint && SSL_CTX_use_psk_identity_hint(d->ctx, c->psk_identity_hint) != 1) {
                snprintf(why, why_cap, "the PSK identity hint is refused");
                return TERN_E_INVAL;
            }
        }
        if (!c->psk_lookup && !c->cert_file) {
            snprintf(why, why_cap, "a coaps server needs PSKs or a certificate");
            return TERN_E_INVAL;
        }
        SSL_CTX_set_cookie_generate_cb(d->ctx, cookie_generate);
        SSL_CTX_set_cookie_verify_cb(d->ctx, cookie_verify);
    } else if (c->psk_identity) {
        SSL_CTX_set_psk_client_callback(d->ctx, psk_client_cb);
    }
    ERR_clear_error();
    return 0;
}

/* ---- the interface -------------------------------------------------------- */

void tern_io_dtls_config_default(tern_io_dtls_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->size = (uint32_t)sizeof *cfg;
    cfg->port = 5684;
    cfg->max_sessions = 1024;
    cfg->max_handshakes = 64;
    cfg->idle_timeout_s = 600;
    cfg->handshake_timeout_s = 20;
}

int tern_dtls_new(tern_dtls **out, const tern_io_dtls_config *in, bool server,
                  tern_dtls_send_fn send, tern_dtls_deliver_fn deliver, void *ctx, char *why,
                  size_t why_cap) {
    *out = NULL;
    if (why_cap) why[0] = '\0';
    tern_dtls *d = calloc(1, sizeof *d);
    if (d == NULL) return TERN_E_NOMEM;
    tern_io_dtls_config_default(&d->cfg);
    int e = tern_base_config_load(&d->cfg, sizeof d->cfg, in, sizeof(uint32_t) + 1);
    if (e < 0) {
        free(d);
        return e;
    }
    if (d->cfg.max_sessions == 0) d->cfg.max_sessions = 1024;
    if (d->cfg.max_handshakes == 0) d->cfg.max_handshakes = 64;
    if (d->cfg.idle_timeout_s == 0) d->cfg.idle_timeout_s = 600;
    if (d->cfg.handshake_timeout_s == 0) d->cfg.handshake_timeout_s = 20;
    d->server = server;
    d->send = send;
    d->deliver = deliver;
    d->cb_ctx = ctx;
    d->cap = d->cfg.max_sessions;
    uint32_t nb = 16;
    while (nb < 2 * d->cap) nb <<= 1;
    d->mask = nb - 1;
    d->v = calloc(d->cap, sizeof *d->v);
    d->buckets = malloc(nb * sizeof *d->buckets);
    d->bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tern-dtls");
    uint8_t key[16];
    if (!d->v || !d->buckets || !d->bio_method || RAND_bytes(key, sizeof key) != 1 ||
        RAND_bytes(d->cookie_secret, sizeof d->cookie_secret) != 1) {
        tern_dtls_free(d);
        return TERN_E_NOMEM;
    }
    d->hkey = tern_hkey_from(key);
    BIO_meth_set_write(d->bio_method, dtls_bio_write);
    BIO_meth_set_read(d->bio_method, dtls_bio_read);
    BIO_meth_set_ctrl(d->bio_method, dtls_bio_ctrl);
    BIO_meth_set_create(d->bio_method, dtls_bio_create);
    for (uint32_t i = 0; i < nb; i++) d->buckets[i] = TERN_NIL;
    tern_slots_init(&d->slots, d->cap);
    tern_ilist_init(&d->handshaking);
    tern_ilist_init(&d->idle);
    if ((e = ctx_setup(d, why, why_cap)) < 0 || (server && !listener_reset(d))) {
        tern_dtls_free(d);
        return e < 0 ? e : TERN_E_NOMEM;
    }
    *out = d;
    return 0;
}

void tern_dtls_free(tern_dtls *d) {
    if (d == NULL) return;
    if (d->v)
        for (uint32_t i = 0; i < tern_slots_end(&d->slots); i++)
            if (d->v[i].used) sess_end(d, &d->v[i], true);
    SSL_free(d->listener.ssl);
    SSL_CTX_free(d->ctx);
    BIO_meth_free(d->bio_method);
    free(d->v);
    free(d->buckets);
    OPENSSL_cleanse(d->cookie_secret, sizeof d->cookie_secret);
    free(d);
}

void tern_dtls_input(tern_dtls *d, const tern_addr *peer, const uint8_t *data, size_t len,
                     uint64_t now) {
    dtls_sess *s = sess_find(d, peer);
    if (d->server && (s == NULL || (s->established && is_client_hello(data, len)))) {
        accept_hello(d, peer, data, len, now);
        return;
    }
    if (s == NULL) return; /* a client hears only from servers it called */
    d->in = data;
    d->in_len = len;
    if (!s->established && !sess_handshake(d, s, now)) {
        d->in = NULL;
        return;
    }
    if (s->established) sess_read(d, s, now);
    d->in = NULL;
}

int tern_dtls_write(tern_dtls *d, const tern_addr *peer, const uint8_t *data, size_t len,
                    uint64_t now) {
    dtls_sess *s = sess_find(d, peer);
    if (s == NULL) {
        if (d->server) return TERN_E_NOTFOUND;
        if (!make_room(d, now)) return TERN_E_FULL;
        SSL *ssl = SSL_new(d->ctx);
        if (ssl == NULL) return TERN_E_NOMEM;
        SSL_set_connect_state(ssl);
        if ((s = sess_new(d, peer, ssl, now)) == NULL) {
            SSL_free(ssl);
            return TERN_E_FULL;
        }
    }
    if (!s->established) { /* a client's message waits for the handshake */
        if (s->nq == DTLS_QUEUE) return TERN_E_FULL;
        uint8_t *copy = malloc(len ? len : 1);
        if (copy == NULL) return TERN_E_NOMEM;
        memcpy(copy, data, len);
        s->q[s->nq] = copy;
        s->qlen[s->nq++] = (uint16_t)len;
        if (s->nq == 1) sess_handshake(d, s, now); /* the ClientHello */
        return 0;
    }
    sess_touch(d, s, now);
    if (SSL_write(s->ssl, data, (int)len) <= 0) {
        ERR_clear_error();
        return TERN_E_FULL;
    }
    return 0;
}

/* When s's handshake next needs attention: a retransmission, or its end.
 * DTLSv1_get_timeout counts on OpenSSL's own clock: the time left. */
static uint64_t handshake_deadline(const dtls_sess *s, uint64_t now) {
    uint64_t t = s->started + (uint64_t)s->d->cfg.handshake_timeout_s * 1000u;
    struct timeval tv;
    if (DTLSv1_get_timeout(s->ssl, &tv) == 1) {
        uint64_t r = now + (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
        if (r < t) t = r;
    }
    return t;
}

uint64_t tern_dtls_next_deadline(const tern_dtls *d, uint64_t now) {
    uint64_t t = UINT64_MAX;
    if (d == NULL) return t;
    for (uint32_t i = d->handshaking.head; i != TERN_NIL; i = d->v[i].link.next) {
        uint64_t h = handshake_deadline(&d->v[i], now);
        if (h < t) t = h;
    }
    if (d->idle.head != TERN_NIL) {
        uint64_t idle = d->v[d->idle.head].last + (uint64_t)d->cfg.idle_timeout_s * 1000u;
        if (idle < t) t = idle;
    }
    return t;
}

void tern_dtls_tick(tern_dtls *d, uint64_t now) {
    if (d == NULL) return;
    for (uint32_t i = d->handshaking.head; i != TERN_NIL;) {
        dtls_sess *s = &d->v[i];
        i = s->link.next;
        if (now >= s->started + (uint64_t)d->cfg.handshake_timeout_s * 1000u) {
            d->st.handshakes_failed++;
            sess_end(d, s, false);
            continue;
        }
        /* Retransmits the last flight if its timer ran out (RFC 6347
         * section 4.2.4), else does nothing. */
        if (DTLSv1_handle_timeout(s->ssl) < 0) {
            d->st.handshakes_failed++;
            ERR_clear_error();
            sess_end(d, s, false);
        }
    }
    while (d->idle.head != TERN_NIL) {
        dtls_sess *s = &d->v[d->idle.head];
        if (now < s->last + (uint64_t)d->cfg.idle_timeout_s * 1000u) break;
        d->st.closed_idle++;
        sess_end(d, s, true);
    }
}

size_t tern_dtls_identity(const tern_dtls *d, const tern_addr *peer, char *out, size_t cap) {
    const dtls_sess *s = d ? sess_find(d, peer) : NULL;
    if (s == NULL || !s->established || cap == 0) return 0;
    int n = snprintf(out, cap, "%s", s->identity);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

void tern_dtls_get_stats(const tern_dtls *d, tern_io_dtls_stats *st) {
    memset(st, 0, sizeof *st);
    if (d == NULL) return;
    *st = d->st;
    st->handshakes = d->n_handshaking;
}
