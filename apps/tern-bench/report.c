/* SPDX-License-Identifier: BSD-2-Clause */
/* report.c - what tern-bench prints: the figures of a run as text on
 * stdout, or with --json as one JSON object (hand-written: a fixed shape,
 * numbers and two strings), and the progress line on stderr.
 *
 * Latencies are kept in nanoseconds and printed in microseconds (text:
 * 0.1 us; JSON: 0.001 us), observe times in milliseconds. A figure that
 * does not exist (no answers, no --server-pid) is null in JSON and left out
 * of the text. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

static const struct {
    uint8_t code;
    const char *name;
} methods[] = {{TERN_CODE_GET, "GET"},       {TERN_CODE_POST, "POST"},   {TERN_CODE_PUT, "PUT"},
               {TERN_CODE_DELETE, "DELETE"}, {TERN_CODE_FETCH, "FETCH"}, {TERN_CODE_PATCH, "PATCH"},
               {TERN_CODE_IPATCH, "iPATCH"}};

const char *bench_method_name(uint8_t code) {
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (methods[i].code == code) return methods[i].name;
    return "?";
}

static bool progress_shown;

void bench_progress(const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    progress_shown = true;
}

void bench_progress_end(void) {
    if (!progress_shown) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    progress_shown = false;
}

static double us(uint64_t ns) { return (double)ns / 1000.0; }
static double ms(uint64_t ns) { return (double)ns / 1e6; }
static double secs(uint64_t ns) { return (double)ns / 1e9; }
static unsigned long long ull(uint64_t v) { return (unsigned long long)v; }

/* A JSON string: the URI (from the command line) is the only free text. */
static void json_str(const char *s) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}

static void json_opt_ll(const char *name, long long v) {
    if (v < 0) printf(",\"%s\":null", name);
    else printf(",\"%s\":%lld", name, v);
}

static double load_rps(const bench_load_stats *st) {
    uint64_t span = st->t_last_answer > st->t_start ? st->t_last_answer - st->t_start : 0;
    return span ? (double)st->answers / secs(span) : 0.0;
}

static void json_latency(const bench_hist *h) {
    if (h->n == 0) {
        printf("null");
        return;
    }
    printf("{\"min\":%.3f,\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p99_9\":%.3f,"
           "\"max\":%.3f}",
           us(h->min), us(h->sum / h->n), us(bench_hist_pct(h, 50)), us(bench_hist_pct(h, 90)),
           us(bench_hist_pct(h, 99)), us(bench_hist_pct(h, 99.9)), us(h->max));
}

static void load_json(const bench_opts *o, const bench_load_stats *st) {
    printf("{\"mode\":\"load\",\"uri\":");
    json_str(o->uri_text);
    printf(",\"method\":\"%s\",\"type\":\"%s\",\"window\":%u,\"sockets\":%u,\"timeout_ms\":%u",
           bench_method_name(o->method), o->non ? "NON" : "CON", o->window, o->sockets,
           o->timeout_ms);
    printf(",\"duration_s\":%.6f,\"elapsed_s\":%.6f", secs(st->t_send_end - st->t_start),
           secs(st->t_end - st->t_start));
    printf(",\"requests\":%llu,\"answers\":%llu,\"rps\":%.1f", ull(st->requests), ull(st->answers),
           load_rps(st));
    printf(",\"codes\":{");
    const char *sep = "";
    for (unsigned c = 0; c < 256; c++)
        if (st->codes[c]) {
            char name[8];
            tern_code_format((uint8_t)c, name);
            printf("%s\"%s\":%llu", sep, name, ull(st->codes[c]));
            sep = ",";
        }
    printf("},\"timeouts\":%llu,\"rsts\":%llu,\"retransmissions\":%llu,\"separate\":%llu",
           ull(st->timeouts), ull(st->rsts), ull(st->retransmissions), ull(st->separate));
    printf(",\"unmatched\":%llu,\"duplicates\":%llu,\"late\":%llu,\"malformed\":%llu",
           ull(st->unmatched), ull(st->duplicates), ull(st->late), ull(st->malformed));
    printf(",\"acks_sent\":%llu,\"rsts_sent\":%llu,\"icmp_errors\":%llu,\"send_errors\":%llu",
           ull(st->acks_sent), ull(st->rsts_sent), ull(st->icmp_errors), ull(st->send_errors));
    printf(",\"abandoned\":%llu,\"gso_sends\":%llu", ull(st->abandoned), ull(st->gso_sends));
    json_opt_ll("udp_drops", st->udp_drops);
    printf(",\"latency_us\":");
    json_latency(&st->lat);
    printf("}\n");
}

/* "name N" for each non-zero counter, comma-separated, on one line. */
static void counters(const char *lead, const char *const names[], const uint64_t vals[], size_t n) {
    bool any = false;
    for (size_t i = 0; i < n; i++)
        if (vals[i]) {
            printf("%s%s %llu", any ? ", " : lead, names[i], ull(vals[i]));
            any = true;
        }
    if (any) putchar('\n');
}

static void load_text(const bench_opts *o, const bench_load_stats *st) {
    printf("%s %s, %s, window %u on %u socket%s\n", bench_method_name(o->method), o->uri_text,
           o->non ? "NON" : "CON", o->window, o->sockets, o->sockets == 1 ? "" : "s");
    printf("  %.2f s: %llu requests, %llu answers, %.0f answers/s\n",
           secs(st->t_end - st->t_start), ull(st->requests), ull(st->answers), load_rps(st));
    const bench_hist *h = &st->lat;
    if (h->n)
        printf("  latency (us): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  "
               "(min %.1f, mean %.1f)\n",
               us(bench_hist_pct(h, 50)), us(bench_hist_pct(h, 90)), us(bench_hist_pct(h, 99)),
               us(bench_hist_pct(h, 99.9)), us(h->max), us(h->min), us(h->sum / h->n));
    for (unsigned c = 0; c < 256; c++)
        if (st->codes[c]) {
            const char *name = tern_code_name((uint8_t)c); /* "2.05 Content" */
            char num[8];
            tern_code_format((uint8_t)c, num);
            printf("  %s: %llu\n", name ? name : num, ull(st->codes[c]));
        }
    static const char *const names[] = {"timeouts", "RST", "retransmissions", "separate",
                                        "unmatched", "duplicates", "late", "malformed",
                                        "ICMP errors", "send errors", "abandoned"};
    const uint64_t vals[] = {st->timeouts,  st->rsts,        st->retransmissions, st->separate,
                             st->unmatched, st->duplicates,  st->late,            st->malformed,
                             st->icmp_errors, st->send_errors, st->abandoned};
    counters("  ", names, vals, sizeof vals / sizeof vals[0]);
    if (st->udp_drops > 0)
        printf("  the kernel dropped %lld UDP datagrams (full receive buffers, any process)\n",
               st->udp_drops);
}

void bench_report_load(const bench_opts *o, const bench_load_stats *st) {
    if (o->json) load_json(o, st);
    else load_text(o, st);
    fflush(stdout);
}

/* ---- observe ------------------------------------------------------------------------ */

static long long rss_per_observer(const bench_observe_stats *st) {
    if (st->rss_before < 0 || st->rss_after < 0 || st->reg_confirmed == 0) return -1;
    long long d = st->rss_after - st->rss_before;
    return d / (long long)st->reg_confirmed;
}

static void observe_json(const bench_opts *o, const bench_observe_stats *st) {
    printf("{\"mode\":\"observe\",\"uri\":");
    json_str(o->uri_text);
    printf(",\"observers\":%u,\"sockets\":%u,\"tokens_per_socket\":%u,\"window\":%u,"
           "\"timeout_ms\":%u",
           o->observers, st->sockets, o->tokens_per_socket, o->window, o->timeout_ms);
    printf(",\"register\":{\"confirmed\":%llu,\"plain\":%llu,\"failed\":%llu,\"timeouts\":%llu,"
           "\"retransmissions\":%llu,\"time_ms\":%.3f,\"latency_us\":",
           ull(st->reg_confirmed), ull(st->reg_plain), ull(st->reg_failed), ull(st->reg_timeouts),
           ull(st->reg_retransmissions), ms(st->reg_ns));
    json_latency(&st->reg_lat);
    printf("},\"server_rss\":");
    if (o->server_pid) {
        printf("{\"pid\":%ld", o->server_pid);
        json_opt_ll("before_bytes", st->rss_before);
        json_opt_ll("after_bytes", st->rss_after);
        if (st->rss_before >= 0 && st->rss_after >= 0 && st->reg_confirmed)
            printf(",\"per_observer_bytes\":%lld", rss_per_observer(st));
        else printf(",\"per_observer_bytes\":null");
        printf("}");
    } else {
        printf("null");
    }
    printf(",\"rounds\":[");
    for (uint32_t i = 0; i < st->n_rounds; i++) {
        const bench_round *rd = &st->rounds[i];
        char code[8] = "";
        if (rd->put_code) tern_code_format(rd->put_code, code);
        printf("%s{\"value\":", i ? "," : "");
        json_str(rd->value);
        if (rd->put_code) printf(",\"put_code\":\"%s\",\"put_ms\":%.3f", code, ms(rd->put_ns));
        else printf(",\"put_code\":null,\"put_ms\":null");
        printf(",\"target\":%llu,\"notified\":%llu", ull(rd->target), ull(rd->notified));
        if (rd->all_ns) printf(",\"all_ms\":%.3f", ms(rd->all_ns));
        else printf(",\"all_ms\":null");
        if (rd->notified)
            printf(",\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}", ms(rd->p50_ns),
                   ms(rd->p99_ns), ms(rd->max_ns));
        else printf(",\"p50_ms\":null,\"p99_ms\":null,\"max_ms\":null}");
    }
    const bench_hist *a = &st->arrival;
    printf("],\"arrival_ms\":");
    if (a->n)
        printf("{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}", ms(bench_hist_pct(a, 50)),
               ms(bench_hist_pct(a, 99)), ms(a->max));
    else printf("null");
    printf(",\"notifications\":%llu,\"duplicates\":%llu,\"other_payload\":%llu,\"ended\":%llu",
           ull(st->notifications), ull(st->duplicates), ull(st->other_payload), ull(st->ended));
    printf(",\"unmatched\":%llu,\"malformed\":%llu,\"acks_sent\":%llu,\"rsts_sent\":%llu",
           ull(st->unmatched), ull(st->malformed), ull(st->acks_sent), ull(st->rsts_sent));
    printf(",\"icmp_errors\":%llu,\"send_errors\":%llu,\"gso_sends\":%llu", ull(st->icmp_errors),
           ull(st->send_errors), ull(st->gso_sends));
    json_opt_ll("udp_drops", st->udp_drops);
    printf("}\n");
}

static void observe_text(const bench_opts *o, const bench_observe_stats *st) {
    printf("observe %s: %u observers on %u sockets (%u token%s each)\n", o->uri_text,
           o->observers, st->sockets, o->tokens_per_socket, o->tokens_per_socket == 1 ? "" : "s");
    printf("  register: %llu of %u confirmed in %.1f ms", ull(st->reg_confirmed), o->observers,
           ms(st->reg_ns));
    static const char *const rnames[] = {"plain GET", "failed", "timeouts", "retransmissions"};
    const uint64_t rvals[] = {st->reg_plain, st->reg_failed, st->reg_timeouts,
                              st->reg_retransmissions};
    bool any = false;
    for (size_t i = 0; i < 4; i++)
        if (rvals[i]) {
            printf("%s%s %llu", any ? ", " : " (", rnames[i], ull(rvals[i]));
            any = true;
        }
    printf("%s\n", any ? ")" : "");
    if (o->server_pid) {
        if (rss_per_observer(st) >= 0 || (st->rss_before >= 0 && st->rss_after >= 0))
            printf("  server RSS: %lld -> %lld bytes, %lld bytes per observer\n", st->rss_before,
                   st->rss_after, rss_per_observer(st));
        else printf("  server RSS: cannot read /proc/%ld/status\n", o->server_pid);
    }
    for (uint32_t i = 0; i < st->n_rounds; i++) {
        const bench_round *rd = &st->rounds[i];
        char code[8] = "none";
        if (rd->put_code) tern_code_format(rd->put_code, code);
        printf("  round %u: PUT %s -> %s", i + 1, rd->value, code);
        if (rd->put_code) printf(" in %.2f ms", ms(rd->put_ns));
        printf("; %llu of %llu notified within %u ms", ull(rd->notified), ull(rd->target),
               o->timeout_ms);
        if (rd->all_ns) printf(", all after %.2f ms", ms(rd->all_ns));
        if (rd->notified)
            printf(" (p50 %.2f, p99 %.2f, max %.2f ms)", ms(rd->p50_ns), ms(rd->p99_ns),
                   ms(rd->max_ns));
        putchar('\n');
    }
    static const char *const names[] = {"duplicates",  "other payload", "ended",
                                        "unmatched",   "malformed",     "ICMP errors",
                                        "send errors"};
    const uint64_t vals[] = {st->duplicates,  st->other_payload, st->ended,      st->unmatched,
                             st->malformed,   st->icmp_errors,   st->send_errors};
    counters("  notifications: ", names, vals, sizeof vals / sizeof vals[0]);
    if (st->udp_drops > 0)
        printf("  the kernel dropped %lld UDP datagrams (full receive buffers, any process)\n",
               st->udp_drops);
}

void bench_report_observe(const bench_opts *o, const bench_observe_stats *st) {
    if (o->json) observe_json(o, st);
    else observe_text(o, st);
    fflush(stdout);
}
