/* SPDX-License-Identifier: BSD-2-Clause */
/* run.c - the commands of `tern`: one request (RFC 7252 section 5; RFC 7959
 * block-wise transfers are the client's: Block1 for a large request payload,
 * src/client/block1.c, and Block2 for a large response body,
 * src/client/block2.c), observe (RFC 7641 section 3) and discovery (RFC 6690
 * sections 4 and 5).
 *
 * With -P the requests go to a forward proxy instead (RFC 7252 section
 * 5.7.2): tern_io_config.proxy, set in main.c, sends them there with the
 * target URI in Proxy-Uri (section 5.10.2).
 *
 * stdout carries only payloads, so that `tern get ... | jq` and
 * `tern observe ... | while read` work; everything else goes to stderr
 * (output.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_log.h"
#include "tern/linkformat.h"
#include "tern_cli.h"

/* RFC 7959 gives no limit; a person's terminal deserves one. */
#define CLI_MAX_BODY (16u << 20)
/* After Ctrl-C, --count or --duration: how long to wait for the server to
 * confirm the deregistration before leaving anyway. */
#define CLI_DEREGISTER_WAIT_MS 5000u

int cli_status_for_code(uint8_t code) {
    switch (TERN_CODE_CLASS(code)) {
    case 2: return EXIT_OK;
    case 4: return EXIT_CLIENT_ERR;
    case 5: return EXIT_SERVER_ERR;
    default: return EXIT_ERROR;
    }
}

int cli_fail(const cli_opts *o, int err) { return cli_fail_uri(o, o->uri, err); }

int cli_fail_uri(const cli_opts *o, const char *uri, int err) {
    const char *why;
    int status;
    switch (err) {
    case TERN_E_URI:
        why = "bad URI (want coap://host[:port]/path[?query])";
        status = EXIT_BAD_URI;
        break;
    case TERN_E_NOTFOUND:
        why = "cannot resolve host";
        status = EXIT_NO_HOST;
        break;
    case TERN_E_TIMEOUT:
        why = "no response (timeout; is the host reachable and serving CoAP?)";
        status = EXIT_TIMEOUT;
        break;
    case TERN_E_UNREACHABLE:
        /* ICMP destination unreachable: no CoAP server listens there (port
         * unreachable), or the host or network cannot be reached. */
        why = "unreachable (ICMP: no CoAP server at that host and port, or no route to it)";
        status = EXIT_TIMEOUT;
        break;
    case TERN_E_RESET:
        why = "the server reset the request (RST)";
        status = EXIT_RESET;
        break;
    case TERN_E_NOSPACE:
        /* A large payload goes block-wise (RFC 7959 Block1, in the client),
         * a large body comes so (Block2, also in the client); what is left is
         * what blocks cannot split (the request's options) and a body beyond
         * CLI_MAX_BODY. */
        why = "too large: the request's options do not fit one datagram, or the response "
              "body exceeds 16 MiB";
        status = EXIT_ERROR;
        break;
    case TERN_E_CANCELLED:
        why = "interrupted";
        status = EXIT_ERROR;
        break;
    default:
        why = tern_strerror(err);
        status = EXIT_ERROR;
        break;
    }
    (void)o;
    fprintf(stderr, "tern: %s: %s\n", uri, why);
    return status;
}

/* "4.04 Not Found: diagnostic" on stderr. */
static void print_error_response(const cli_opts *o, const tern_msg *m) {
    cli_print_head(o, m);
    if (o->quiet) return;
    char code[8];
    tern_code_format(m->code, code);
    const char *name = tern_code_name(m->code);
    fprintf(stderr, "tern: %s %s", code, name ? name + 5 : "");
    if (m->payload_len) fprintf(stderr, ": %.*s", (int)m->payload_len, (const char *)m->payload);
    fputc('\n', stderr);
}

int cli_build_request(const cli_opts *o, tern_msgb *b, uint8_t code) {
    tern_msgb_init(b, o->non ? TERN_TYPE_NON : TERN_TYPE_CON, code, 0);
    int rc = 0;
    for (size_t i = 0; i < o->n_opts && rc == 0; i++)
        rc = tern_msgb_add_opt(b, o->opts[i].num, o->opts[i].val, o->opts[i].len);
    if (rc == 0 && o->content_format >= 0)
        rc = tern_msgb_add_uint(b, TERN_OPT_CONTENT_FORMAT, (uint32_t)o->content_format);
    if (rc == 0 && o->accept >= 0)
        rc = tern_msgb_add_uint(b, TERN_OPT_ACCEPT, (uint32_t)o->accept);
    /* -b: RFC 7959 section 2.4 early negotiation, Block2 NUM 0 with the
     * size wanted, for the methods whose answer the client continues. */
    if (rc == 0 && o->block_size && (code == TERN_CODE_GET || code == TERN_CODE_FETCH)) {
        tern_block blk = {.num = 0, .more = false, .szx = (uint8_t)tern_block_szx_for(o->block_size)};
        uint32_t v;
        rc = tern_block_encode(&blk, &v);
        if (rc == 0) rc = tern_msgb_add_uint(b, TERN_OPT_BLOCK2, v);
    }
    if (o->has_payload) tern_msgb_set_payload(b, o->payload, o->payload_len);
    return rc;
}

uint32_t cli_block1_request_size(const cli_opts *o) {
    if (!o->block_size || !o->has_payload) return 0;
    /* The client sends a payload block-wise when the whole request exceeds
     * max_request_size, in the largest power-of-two block that fits beside
     * the request's header, token and options plus Block1 and Size1
     * (11 bytes at most) and the payload marker (src/client/block1.c). So
     * the request as the client will encode it, without payload, plus 12
     * plus SIZE makes blocks of SIZE. */
    tern_msgb b;
    tern_uri u;
    if (cli_build_request(o, &b, o->method) < 0) return 0;
    if (o->proxy) {
        if (tern_msgb_add_str(&b, TERN_OPT_PROXY_URI, o->uri) < 0) return 0;
    } else {
        if (tern_uri_parse(&u, o->uri) < 0 || tern_uri_to_opts(&u, u.port, &b) < 0) return 0;
    }
    tern_endpoint_config ep;
    tern_endpoint_config_default(&ep);
    uint8_t token[TERN_TOKEN_MAX] = {0};
    if (tern_msgb_set_token(&b, token, ep.token_len) < 0) return 0;
    tern_msgb_set_payload(&b, NULL, 0);
    static uint8_t buf[65536];
    int len = tern_msgb_encode(&b, buf, sizeof buf);
    if (len < 0) return 0;
    uint32_t cap = (uint32_t)len + 12u + o->block_size;
    return cap <= 65536u ? cap : 0;
}

/* A response and its whole body: RFC 7959 section 2.4 (Block2) reassembly
 * is tern_io_request_body's, for GET and FETCH. */
typedef struct answer {
    tern_io_reply reply;
    uint8_t body[];
} answer;

static answer *answer_new(void) { return malloc(sizeof(answer) + CLI_MAX_BODY); }

/* Send the request (--timeout bounds all its blocks together). 0 with the
 * last response in a->reply.msg, its payload the whole body, or a library
 * error. */
static int fetch(tern_io *io, const cli_opts *o, const char *uri, answer *a) {
    tern_msgb b;
    int rc = cli_build_request(o, &b, o->method);
    if (rc == 0)
        rc = tern_io_request_body(io, uri, &b, o->timeout_ms, &a->reply, a->body, CLI_MAX_BODY);
    if (rc < 0) return rc;
    /* Other methods are not continued (a second POST would act again). */
    tern_block blk;
    const tern_msg *m = &a->reply.msg;
    if (TERN_CODE_CLASS(m->code) == 2 && tern_msg_get_block(m, TERN_OPT_BLOCK2, &blk) == 0 &&
        blk.more)
        app_log(APP_LOG_WARN, "only the first block of the response is shown");
    return 0;
}

int cli_request(tern_io *io, const cli_opts *o) {
    answer *a = answer_new();
    if (!a) return EXIT_ERROR;
    int rc = fetch(io, o, o->uri, a);
    const tern_msg *m = &a->reply.msg;
    int status;
    if (rc < 0) {
        status = cli_fail(o, rc);
    } else {
        status = cli_status_for_code(m->code);
        if (status == EXIT_OK) {
            cli_print_head(o, m);
            cli_print_body(o, m, m->payload, m->payload_len, false);
        } else {
            print_error_response(o, m);
        }
    }
    free(a);
    return status;
}

/* ---- observe ------------------------------------------------------------------- */

typedef struct obs_run {
    const cli_opts *o;
    tern_io *io;
    tern_client_op_id id;
    long seen;
    bool done;
    bool stopping;   /* deregistration asked for */
    bool has_seq;
    uint32_t seq;
    int status;
} obs_run;

/* One output line: with -v prefixed by code, Observe and Max-Age. */
static void obs_print(obs_run *r, const tern_msg *m, const uint8_t *p, size_t len) {
    if (r->o->quiet) return;
    cli_print_head(r->o, m);
    if (r->o->verbose) {
        char code[8];
        tern_code_format(m->code, code);
        uint32_t age = 60;
        (void)tern_msg_get_uint(m, TERN_OPT_MAX_AGE, &age);
        if (r->has_seq)
            fprintf(stdout, "%s Observe:%u Max-Age:%u | ", code, (unsigned)r->seq, (unsigned)age);
        else
            fprintf(stdout, "%s | ", code);
    }
    cli_print_body(r->o, m, p, len, true);
}

static void obs_stop(obs_run *r) {
    if (r->stopping) return;
    r->stopping = true;
    tern_client *cli = tern_io_client(r->io);
    if (tern_client_deregister(cli, r->id, tern_io_now()) < 0) {
        tern_client_cancel(cli, r->id, tern_io_now());
        r->done = true;
    }
}

/* A notification was printed: the end of an unobserved answer, or --count. */
static void obs_printed(obs_run *r, bool observing) {
    r->seen++;
    if (!observing) {
        if (!r->o->quiet)
            fprintf(stderr, "tern: %s: the server did not accept the observation "
                            "(answer without Observe)\n", r->o->uri);
        r->done = true;
        return;
    }
    if (r->o->count && r->seen >= r->o->count) obs_stop(r);
}

static void obs_event(void *ctx, tern_client *cli, tern_client_op_id id, const tern_client_event *ev,
                      uint64_t now_ms) {
    (void)cli, (void)id, (void)now_ms;
    obs_run *r = ctx;
    if (ev->err) {
        r->done = true;
        if (ev->err != TERN_E_CANCELLED) r->status = cli_fail(r->o, ev->err);
        return;
    }
    if (TERN_CODE_CLASS(ev->resp->code) != 2) {
        print_error_response(r->o, ev->resp);
        r->status = cli_status_for_code(ev->resp->code);
        r->done = true;
        return;
    }
    if (r->stopping) return;
    r->has_seq = ev->has_observe;
    r->seq = ev->observe;
    /* RFC 7959 section 2.6: a notification of a large representation comes
     * whole, its blocks fetched by the client (tern_io_observe_body). */
    obs_print(r, ev->resp, ev->resp->payload, ev->resp->payload_len);
    obs_printed(r, ev->observing);
}

int cli_observe(tern_io *io, const cli_opts *o) {
    obs_run r = {.o = o, .io = io, .status = EXIT_OK};
    uint8_t *body = malloc(CLI_MAX_BODY);
    if (!body) return EXIT_ERROR;
    tern_msgb b;
    int rc = cli_build_request(o, &b, TERN_CODE_GET);
    if (rc == 0)
        rc = tern_io_observe_body(io, o->uri, &b, body, CLI_MAX_BODY, o->timeout_ms, obs_event,
                                  &r, &r.id);
    if (rc < 0) {
        free(body);
        return cli_fail(o, rc);
    }
    tern_client *cli = tern_io_client(io);
    uint64_t start = tern_io_now(), give_up = UINT64_MAX;
    while (!r.done) {
        uint64_t now = tern_io_now();
        bool ending = tern_io_stopped(io) || (o->duration_ms && now >= start + o->duration_ms);
        if (ending && !r.stopping) obs_stop(&r);
        if (r.stopping && give_up == UINT64_MAX) give_up = now + CLI_DEREGISTER_WAIT_MS;
        if (now >= give_up) {
            tern_client_cancel(cli, r.id, now);
            break;
        }
        /* Wake for --duration and for the deregistration bound. */
        uint64_t until = give_up;
        if (o->duration_ms && !r.stopping) until = start + o->duration_ms;
        int wait = until == UINT64_MAX ? -1 : (int)(until - now > 1000 ? 1000 : until - now);
        if ((rc = tern_io_step(io, wait)) < 0) {
            /* The client must not write into body after it is freed. */
            tern_client_cancel(cli, r.id, tern_io_now());
            r.status = cli_fail(o, rc);
            break;
        }
    }
    free(body);
    return r.status;
}

/* ---- discover ------------------------------------------------------------------- */

/* RFC 6690 section 4: with no path, the URI names the host; discovery is at
 * /.well-known/core (a query, e.g. ?rt=alarm, filters). */
static int discovery_uri(const char *uri, char *out, size_t cap) {
    tern_uri u;
    int rc = tern_uri_parse(&u, uri);
    if (rc < 0) return rc;
    if (u.n_path > 0) {
        if ((size_t)snprintf(out, cap, "%s", uri) >= cap) return TERN_E_URI;
        return 0;
    }
    const char *auth = strstr(uri, "://");
    if (!auth) return TERN_E_URI;
    size_t end = strcspn(auth + 3, "/?#") + (size_t)(auth + 3 - uri);
    const char *rest = uri + end;
    while (*rest == '/') rest++;
    if ((size_t)snprintf(out, cap, "%.*s/.well-known/core%s", (int)end, uri, rest) >= cap)
        return TERN_E_URI;
    return 0;
}

/* Print a link-format document, one link a line; false when malformed. */
static bool print_links(const cli_opts *o, const char *uri, const tern_msg *m) {
    uint32_t cf = TERN_CF_LINK_FORMAT;
    (void)tern_msg_get_uint(m, TERN_OPT_CONTENT_FORMAT, &cf);
    if (cf != TERN_CF_LINK_FORMAT && !o->quiet)
        fprintf(stderr, "tern: %s: answer is Content-Format %u, not link-format (40)\n", uri,
                (unsigned)cf);
    tern_link_iter it;
    tern_link link;
    int rc;
    tern_link_iter_init(&it, (const char *)m->payload, m->payload_len);
    while ((rc = tern_link_next(&it, &link)) > 0) {
        if (o->quiet) continue;
        printf("<%.*s>%.*s\n", (int)link.target_len, link.target, (int)link.params_len,
               link.params);
    }
    fflush(stdout);
    if (rc < 0) fprintf(stderr, "tern: %s: malformed link-format (RFC 6690) in the answer\n", uri);
    return rc >= 0;
}

/* ---- discovery in a group (RFC 7252 section 8, RFC 6690 section 4) ----- */

/* Servers answer a group request after a random leisure (DEFAULT_LEISURE
 * 5 s, RFC 7252 8.2): wait that long and a little more, unless -t says. */
#define CLI_GROUP_WAIT_MS 6000u

typedef struct group_run {
    const cli_opts *o;
    const char *uri;
    bool done;
    int servers, bad;
} group_run;

static void group_answer(void *ctx, tern_client *cli, tern_client_op_id id,
                         const tern_client_event *ev, uint64_t now_ms) {
    (void)cli, (void)id, (void)now_ms;
    group_run *g = ctx;
    if (ev->err) { /* the deadline: the last call */
        g->done = true;
        return;
    }
    char from[64] = "?";
    tern_io_addr_format(ev->peer, from, sizeof from);
    g->servers++;
    if (TERN_CODE_CLASS(ev->resp->code) != 2) {
        print_error_response(g->o, ev->resp);
        return;
    }
    /* One block per server: enough for a group's answer (RFC 7252 8.2:
     * a follow-up goes to that server alone). */
    if (!g->o->quiet) printf("# %s\n", from);
    cli_print_head(g->o, ev->resp);
    if (!print_links(g->o, g->uri, ev->resp)) g->bad++;
}

static int discover_group(tern_io *io, const cli_opts *o, const char *uri) {
    group_run g = {.o = o, .uri = uri};
    tern_msgb b;
    int rc = cli_build_request(o, &b, TERN_CODE_GET);
    uint32_t wait = o->timeout_ms ? o->timeout_ms : CLI_GROUP_WAIT_MS;
    tern_client_op_id id = 0;
    if (rc == 0) rc = tern_io_request_start(io, uri, &b, wait, group_answer, &g, &id);
    if (rc < 0) return cli_fail(o, rc);
    while (!g.done && !tern_io_stopped(io)) {
        if ((rc = tern_io_step(io, 1000)) < 0) break;
    }
    tern_client_cancel(tern_io_client(io), id, tern_io_now());
    if (rc < 0) return cli_fail(o, rc);
    if (g.servers == 0) {
        if (!o->quiet) fprintf(stderr, "tern: %s: no server answered\n", uri);
        return EXIT_TIMEOUT;
    }
    if (!o->quiet) fprintf(stderr, "tern: %d server(s) answered\n", g.servers);
    return g.bad ? EXIT_ERROR : EXIT_OK;
}

int cli_discover(tern_io *io, const cli_opts *o) {
    char uri[2048];
    int rc = discovery_uri(o->uri, uri, sizeof uri);
    if (rc < 0) return cli_fail(o, rc);
    tern_uri u;
    tern_addr peer;
    if (!o->proxy && tern_io_uri_peer(io, uri, &u, &peer) == 0 &&
        tern_io_addr_is_group(io, &peer))
        return discover_group(io, o, uri);
    answer *a = answer_new();
    if (!a) return EXIT_ERROR;
    const tern_msg *m = &a->reply.msg;
    int status;
    rc = fetch(io, o, uri, a);
    if (rc < 0) {
        status = cli_fail(o, rc);
    } else if ((status = cli_status_for_code(m->code)) != EXIT_OK) {
        print_error_response(o, m);
    } else {
        cli_print_head(o, m);
        if (!print_links(o, uri, m)) status = EXIT_ERROR;
    }
    free(a);
    return status;
}
