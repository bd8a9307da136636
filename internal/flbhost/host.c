//go:build ignore

// (The constraint keeps the go command from compiling this file into the
// Go package; flbhost.BuildHost compiles it with cc as a program.)

/*
 * flbhost: a faithful stand-in for Fluent Bit's Go output proxy, for tests.
 *
 * It loads a Go c-shared output plugin the way Fluent Bit 4.x/5.x does
 * (src/flb_plugin_proxy.c, src/proxy/go/go.c, src/flb_output.c) and drives
 * it through a scenario file, printing one machine-readable line per call:
 *
 *   - struct layouts of Fluent Bit 5.1.1 (48-byte def with event_type and
 *     config_map, 9-field flbgo_output_plugin, {remote_context, proxy}
 *     context, 9-slot flb_api); -DFLB_ABI_OLD: the 32-byte def of Fluent Bit
 *     <= 4.2.2, malloc'd and not zeroed, followed by canary bytes;
 *   - dlopen(RTLD_LAZY), dlsym of every proxy symbol with dlerror() checks,
 *     refusal of "flb-" file names (those are C plugins in Fluent Bit);
 *   - PreRegister(hot_reloading), Register, asserting type==2, proxy==11;
 *   - case-insensitive exact property lookup, core keys invisible, ${ENV}
 *     substitution, empty values stored as NULL;
 *   - Init per instance on the engine thread, PreRun;
 *   - every flush on a fresh malloc'd ucontext stack (stack_size, default
 *     24 KiB as Fluent Bit <= 5.0 on x86-64 glibc) on a non-Go pthread:
 *     the engine thread for workers 0, N concurrent worker threads on one
 *     instance for workers N; a fresh malloc'd copy of the chunk per call,
 *     poisoned before free so a plugin that keeps the pointer is caught;
 *   - FLB_RETRY re-delivers the identical bytes later, up to Retry_Limit;
 *   - PreExit/ExitCtx per instance, Unregister, dlclose, then optionally
 *     more full cycles (hot reload, PreRegister(1)).
 *
 * Scenario file (classic-config-like; '#' comments):
 *   plugin /abs/path/out_x.so   the .so to load (required)
 *   stack_size 24576            coroutine stack bytes per flush
 *   cycles 2                    load cycles; > 1 is a hot reload
 *   retry_wait_ms 200           delay before a RETRY'd chunk is re-delivered
 *   rss_every 50                also report RSS every N flushes
 *   [OUTPUT]                    one output instance (repeatable)
 *       Name nri_audit          must match the registered name
 *       Workers 4               core key: worker threads (invisible to plugin)
 *       Retry_Limit 2           core key: retries per chunk (no_limits,
 *                               no_retries, false, off accepted)
 *       key value               a plugin property
 *       @chunk /abs/file [N]    deliver this chunk N times (default 1)
 *       @tag journal.x          tag for this instance's chunks
 *       @null_ctx               flush with a NULL context (what Fluent Bit
 *                               passes when Init never set one)
 *
 * Output lines start with a word, then key=value pairs:
 *   load, register, init, prerun, flush, retry_exhausted, preexit, exit,
 *   unregister, dlclose, rss, cycle, summary, fatal, startup_failed.
 * Exit status: 0 done, 2 startup failed (an Init returned <= 0),
 * 3 ABI/scenario violation.
 *
 * Build: cc -O1 -g -Wall -o flbhost host.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* include/fluent-bit/flb_macros.h */
#define FLB_ERROR 0
#define FLB_OK 1
#define FLB_RETRY 2

/* include/fluent-bit/flb_plugin_proxy.h */
#define FLB_PROXY_OUTPUT_PLUGIN 2
#define FLB_PROXY_GOLANG 11

#define CANARY_LEN 16
#define CANARY_BYTE 0xA5

struct flb_config_map;
struct flb_output_instance; /* opaque to the plugin */

/* struct flb_plugin_proxy_def: 48 bytes in 5.1.1, 32 bytes up to 4.2.2. */
struct flb_plugin_proxy_def {
    int type;
    int proxy;
    int flags;
    char *name;
    char *description;
#ifndef FLB_ABI_OLD
    int event_type;
    struct flb_config_map *config_map;
#endif
};

/* include/fluent-bit/flb_api.h: 9 function pointers. */
struct flb_api {
    const char *(*output_get_property)(const char *, struct flb_output_instance *);
    const char *(*input_get_property)(const char *, void *);
    void *(*output_get_cmt_instance)(void *);
    void *(*input_get_cmt_instance)(void *);
    void (*log_print)(int, const char *, int, const char *, ...);
    int (*input_log_check)(void *, int);
    int (*output_log_check)(void *, int);
    const char *(*custom_get_property)(const char *, void *);
    int (*custom_log_check)(void *, int);
};

/* Output variant of struct flb_plugin_proxy_context. */
struct flb_plugin_proxy_context {
    void *remote_context;
    void *proxy;
};

/* src/proxy/go/go.h */
struct flbgo_output_plugin {
    char *name;
    struct flb_api *api;
    struct flb_output_instance *o_ins;
    struct flb_plugin_proxy_context *context;
    int (*cb_init)(struct flbgo_output_plugin *);
    int (*cb_flush)(const void *, size_t, const char *);
    int (*cb_flush_ctx)(void *, const void *, size_t, char *);
    int (*cb_exit)(void);
    int (*cb_exit_ctx)(void *);
};

/* Symbols as Fluent Bit's function pointers see them. */
typedef int (*pre_register_fn)(int);
typedef int (*register_fn)(struct flb_plugin_proxy_def *);
typedef void (*unregister_fn)(struct flb_plugin_proxy_def *);
typedef int (*pre_run_fn)(int);
typedef void (*pre_exit_fn)(int);

/* ------------------------------------------------------------------ */
/* Scenario                                                            */

struct prop {
    char *key;
    char *val; /* NULL for empty values, as flb_kv stores them */
};

struct chunk_ref {
    char *path;
    int repeat;
    unsigned char *data;
    size_t size;
};

struct instance {
    int id;
    char *name;
    int workers;
    int retry_limit;
    char *tag;
    int null_ctx; /* @null_ctx: flush with a NULL remote context */
    struct prop *props;
    int nprops;
    struct chunk_ref *chunks;
    int nchunks;
    /* per cycle */
    struct flb_plugin_proxy_context *ctx;
    int init_ok;
};

struct scenario {
    char *plugin;
    size_t stack_size;
    int cycles;
    int retry_wait_ms;
    int rss_every;
    struct instance *ins;
    int nins;
};

static struct scenario sc = {.stack_size = 24576, .cycles = 1, .retry_wait_ms = 0};
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static int cur_cycle;

static void emit(const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&out_mu);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&out_mu);
}

static void fatal(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++) {
        if (*p == ' ' || *p == '\n') *p = '_';
    }
    emit("fatal cycle=%d reason=%s", cur_cycle, buf);
    exit(3);
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p) fatal("out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) fatal("out of memory");
    return p;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

/* flb_env_var_translate: ${NAME} → getenv(NAME) or "". */
static char *env_translate(const char *in)
{
    size_t cap = strlen(in) + 1, len = 0;
    char *out = xcalloc(1, cap);
    for (const char *p = in; *p;) {
        const char *end;
        if (p[0] == '$' && p[1] == '{' && (end = strchr(p + 2, '}')) != NULL) {
            char name[256];
            size_t n = (size_t)(end - (p + 2));
            if (n >= sizeof(name)) n = sizeof(name) - 1;
            memcpy(name, p + 2, n);
            name[n] = 0;
            const char *v = getenv(name);
            if (!v) v = "";
            size_t vl = strlen(v);
            if (len + vl + 1 > cap) {
                cap = (len + vl + 1) * 2;
                out = realloc(out, cap);
                if (!out) fatal("out of memory");
            }
            memcpy(out + len, v, vl);
            len += vl;
            p = end + 1;
            continue;
        }
        if (len + 2 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            if (!out) fatal("out of memory");
        }
        out[len++] = *p++;
    }
    out[len] = 0;
    return out;
}

/* flb_output_set_property (src/flb_output.c): keys the core consumes never
 * reach ins->properties. Matching is case-insensitive and exact-length
 * (prop_key_check), except the prefix families: "net." (net_properties),
 * "oauth2." (oauth2_properties, recent versions) and "tls." (the core
 * owns tls.verify, tls.ca_file, ... and adds new ones over time). A key that
 * only looks similar (hostname, tls_ca, oauth2_token, network) is the
 * plugin's. "name" and "routes" are taken by the config loader before
 * set_property (src/flb_config.c configure_plugins_type; "routes" only in
 * versions with the new router, earlier it reached the plugin). */
static int is_core_key(const char *k)
{
    static const char *exact[] = {"name", "routes", "match", "match_regex", "alias", "log_level",
                                  "log_suppress_interval", "host", "port", "ipv6",
                                  "retry_limit", "tls", "storage.total_limit_size",
                                  "workers", NULL};
    for (int i = 0; exact[i]; i++) {
        if (strcasecmp(k, exact[i]) == 0) return 1;
    }
    return strncasecmp(k, "net.", 4) == 0 || strncasecmp(k, "tls.", 4) == 0 ||
           strncasecmp(k, "oauth2.", 7) == 0;
}

/* flb_output_set_property's retry_limit: an empty value is the default 1;
 * no_limits/false/off unlimited; no_retries none; otherwise atoi(), and a
 * result <= 0 (0, -1, garbage) is "invalid retry_limit. set default." = 1. */
static int parse_retry_limit(const char *v)
{
    if (!*v) return 1;
    if (!strcasecmp(v, "no_limits") || !strcasecmp(v, "false") || !strcasecmp(v, "off"))
        return 1000; /* "unlimited", bounded so a test cannot spin forever */
    if (!strcasecmp(v, "no_retries")) return 0;
    int n = atoi(v);
    if (n <= 0) {
        emit("warn key=retry_limit msg=invalid_retry_limit_set_default");
        return 1;
    }
    return n;
}

static void load_chunk(struct chunk_ref *c)
{
    FILE *f = fopen(c->path, "rb");
    if (!f) fatal("open chunk %s: %s", c->path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n <= 0) fatal("chunk %s is empty (Fluent Bit never flushes zero records)", c->path);
    c->data = malloc((size_t)n);
    if (!c->data || fread(c->data, 1, (size_t)n, f) != (size_t)n) fatal("read chunk %s", c->path);
    c->size = (size_t)n;
    fclose(f);
}

static void parse_scenario(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) fatal("open scenario %s: %s", path, strerror(errno));
    char line[8192];
    struct instance *cur = NULL;
    while (fgets(line, sizeof(line), f)) {
        char *s = trim(line);
        if (!*s || *s == '#') continue;
        if (!strcasecmp(s, "[OUTPUT]")) {
            sc.ins = realloc(sc.ins, sizeof(*sc.ins) * (size_t)(sc.nins + 1));
            if (!sc.ins) fatal("out of memory");
            cur = &sc.ins[sc.nins];
            memset(cur, 0, sizeof(*cur));
            cur->id = sc.nins++;
            cur->retry_limit = 1; /* flb_output_new default */
            cur->tag = xstrdup("journal.containerd.service");
            continue;
        }
        char *key = s, *val = s;
        while (*val && !isspace((unsigned char)*val)) val++;
        if (*val) *val++ = 0;
        val = trim(val);
        if (!cur) {
            if (!strcasecmp(key, "plugin")) sc.plugin = xstrdup(val);
            else if (!strcasecmp(key, "stack_size")) sc.stack_size = (size_t)strtoul(val, NULL, 10);
            else if (!strcasecmp(key, "cycles")) sc.cycles = atoi(val);
            else if (!strcasecmp(key, "retry_wait_ms")) sc.retry_wait_ms = atoi(val);
            else if (!strcasecmp(key, "rss_every")) sc.rss_every = atoi(val);
            else fatal("unknown scenario key %s", key);
            continue;
        }
        if (key[0] == '@') {
            if (!strcmp(key, "@chunk")) {
                cur->chunks = realloc(cur->chunks, sizeof(*cur->chunks) * (size_t)(cur->nchunks + 1));
                if (!cur->chunks) fatal("out of memory");
                struct chunk_ref *c = &cur->chunks[cur->nchunks++];
                memset(c, 0, sizeof(*c));
                char *rep = val;
                while (*rep && !isspace((unsigned char)*rep)) rep++;
                if (*rep) *rep++ = 0;
                c->path = xstrdup(val);
                c->repeat = *trim(rep) ? atoi(trim(rep)) : 1;
                load_chunk(c);
            } else if (!strcmp(key, "@null_ctx")) {
                cur->null_ctx = 1;
            } else if (!strcmp(key, "@tag")) {
                free(cur->tag);
                cur->tag = xstrdup(val);
            } else {
                fatal("unknown host directive %s", key);
            }
            continue;
        }
        char *v = env_translate(val);
        if (!strcasecmp(key, "name")) {
            cur->name = xstrdup(v);
        } else if (!strcasecmp(key, "workers")) {
            cur->workers = atoi(v);
        } else if (!strcasecmp(key, "retry_limit")) {
            cur->retry_limit = parse_retry_limit(v);
        }
        if (is_core_key(key)) {
            free(v);
            continue;
        }
        cur->props = realloc(cur->props, sizeof(*cur->props) * (size_t)(cur->nprops + 1));
        if (!cur->props) fatal("out of memory");
        cur->props[cur->nprops].key = xstrdup(key);
        if (*v) {
            cur->props[cur->nprops].val = v;
        } else {
            free(v);
            cur->props[cur->nprops].val = NULL;
        }
        cur->nprops++;
    }
    fclose(f);
    if (!sc.plugin) fatal("scenario has no plugin line");
    if (sc.plugin[0] != '/') fatal("plugin path must be absolute (dlopen does not search the CWD)");
    if (sc.stack_size < 16384) fatal("stack_size too small");
    for (int i = 0; i < sc.nins; i++) {
        if (!sc.ins[i].name) fatal("instance %d has no Name", i);
    }
}

/* ------------------------------------------------------------------ */
/* flb_api                                                             */

/* flb_output_get_property → flb_kv_get_key_value: case-insensitive, exact
 * length, first match; NULL when absent (or stored empty). */
static const char *api_output_get_property(const char *key, struct flb_output_instance *o_ins)
{
    struct instance *ins = (struct instance *)o_ins;
    if (!key || !ins) return NULL;
    for (int i = 0; i < ins->nprops; i++) {
        if (strcasecmp(ins->props[i].key, key) == 0) return ins->props[i].val;
    }
    return NULL;
}

static void unsupported(const char *what) { fatal("plugin called unimplemented flb_api slot %s", what); }
static const char *api_input_get_property(const char *k, void *i) { (void)k; (void)i; unsupported("input_get_property"); return NULL; }
static void *api_output_get_cmt(void *i) { (void)i; unsupported("output_get_cmt_instance"); return NULL; }
static void *api_input_get_cmt(void *i) { (void)i; unsupported("input_get_cmt_instance"); return NULL; }
static void api_log_print(int l, const char *f, int n, const char *fmt, ...) { (void)l; (void)f; (void)n; (void)fmt; unsupported("log_print"); }
static int api_input_log_check(void *i, int l) { (void)i; (void)l; unsupported("input_log_check"); return 0; }
static int api_output_log_check(void *i, int l) { (void)i; (void)l; unsupported("output_log_check"); return 0; }
static const char *api_custom_get_property(const char *k, void *i) { (void)k; (void)i; unsupported("custom_get_property"); return NULL; }
static int api_custom_log_check(void *i, int l) { (void)i; (void)l; unsupported("custom_log_check"); return 0; }

/* ------------------------------------------------------------------ */
/* Process metrics                                                     */

static long status_field(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(name);
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, name, n) && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') n++;
    }
    closedir(d);
    return n - 1; /* the DIR's own fd */
}

static void report_rss(const char *phase)
{
    emit("rss cycle=%d phase=%s rss_kb=%ld hwm_kb=%ld threads=%ld fds=%d", cur_cycle, phase,
         status_field("VmRSS"), status_field("VmHWM"), status_field("Threads"), count_fds());
}

/* ------------------------------------------------------------------ */
/* Flush tasks, worker pools, coroutine stacks                         */

struct task {
    struct instance *ins;
    struct chunk_ref *chunk;
    int seq;
    int attempt;
    double not_before;
    struct task *next;
};

struct queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct task *head, *tail;
    int inflight;
};

struct plugin_state {
    void *dl;
    struct flb_plugin_proxy_def *def;
    struct flb_api api;
    struct flbgo_output_plugin plugin;
    pre_register_fn pre_register;
    register_fn reg;
    unregister_fn unreg;
    pre_run_fn pre_run;
    pre_exit_fn pre_exit;
    char *reg_name;
};

static struct plugin_state ps;

static long n_flush, n_ok, n_retry, n_error, n_exhausted;
static pthread_mutex_t stat_mu = PTHREAD_MUTEX_INITIALIZER;

static void q_init(struct queue *q)
{
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->head = q->tail = NULL;
    q->inflight = 0;
}

static void q_push_locked(struct queue *q, struct task *t)
{
    t->next = NULL;
    if (q->tail) q->tail->next = t;
    else q->head = t;
    q->tail = t;
    pthread_cond_broadcast(&q->cv);
}

/* Take the first task whose time has come; NULL when the queue is drained
 * (nothing pending, nothing in flight that could re-queue). */
static struct task *q_pop(struct queue *q)
{
    pthread_mutex_lock(&q->mu);
    for (;;) {
        double now = now_ms(), soonest = -1;
        struct task *prev = NULL;
        for (struct task *t = q->head; t; prev = t, t = t->next) {
            if (t->not_before <= now) {
                if (prev) prev->next = t->next;
                else q->head = t->next;
                if (q->tail == t) q->tail = prev;
                q->inflight++;
                pthread_mutex_unlock(&q->mu);
                return t;
            }
            if (soonest < 0 || t->not_before < soonest) soonest = t->not_before;
        }
        if (!q->head && q->inflight == 0) {
            pthread_cond_broadcast(&q->cv);
            pthread_mutex_unlock(&q->mu);
            return NULL;
        }
        if (soonest > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            double wait = soonest - now;
            ts.tv_sec += (time_t)(wait / 1000);
            ts.tv_nsec += (long)((wait - (long)(wait / 1000) * 1000) * 1e6);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&q->cv, &q->mu, &ts);
        } else {
            pthread_cond_wait(&q->cv, &q->mu);
        }
    }
}

static void q_done(struct queue *q, struct task *requeue)
{
    pthread_mutex_lock(&q->mu);
    q->inflight--;
    if (requeue) q_push_locked(q, requeue);
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* One flush call on a coroutine stack, like flb_output_flush_create →
 * output_pre_cb_flush → proxy_cb_flush → proxy_go_output_flush. */
struct flush_call {
    struct instance *ins;
    void *buf;
    size_t size;
    char *tag;
    int rc;
};

static __thread struct flush_call *co_call;
static __thread ucontext_t co_caller;

static void co_entry(void)
{
    struct flush_call *c = co_call;
    if (ps.plugin.cb_flush_ctx) {
        c->rc = ps.plugin.cb_flush_ctx(c->ins->null_ctx ? NULL : c->ins->ctx->remote_context, c->buf, c->size, c->tag);
    } else {
        c->rc = ps.plugin.cb_flush(c->buf, c->size, c->tag);
    }
    /* returning resumes uc_link (co_caller) */
}

static int flush_on_coroutine(struct instance *ins, struct chunk_ref *chunk)
{
    struct flush_call call = {.ins = ins};
    ucontext_t co;
    void *stack = malloc(sc.stack_size);
    if (!stack) fatal("out of memory");
    /* a fresh copy per call: the plugin may not keep the pointer */
    call.buf = malloc(chunk->size);
    if (!call.buf) fatal("out of memory");
    memcpy(call.buf, chunk->data, chunk->size);
    call.size = chunk->size;
    call.tag = xstrdup(ins->tag);

    if (getcontext(&co) != 0) fatal("getcontext: %s", strerror(errno));
    co.uc_stack.ss_sp = stack;
    co.uc_stack.ss_size = sc.stack_size;
    co.uc_link = &co_caller;
    makecontext(&co, co_entry, 0);
    co_call = &call;
    if (swapcontext(&co_caller, &co) != 0) fatal("swapcontext: %s", strerror(errno));

    memset(call.buf, 0xEE, call.size); /* poison: catches a retained pointer */
    free(call.buf);
    memset(call.tag, 'X', strlen(call.tag));
    free(call.tag);
    free(stack);
    return call.rc;
}


static void run_task(struct queue *q, const char *label, int index, struct task *t)
{
    struct instance *ins = t->ins;
    double t0 = now_ms();
    int rc = flush_on_coroutine(ins, t->chunk);
    double ms = now_ms() - t0;
    /* proxy_cb_flush: anything but 0/1/2 becomes FLB_ERROR */
    const char *res = rc == FLB_OK ? "OK" : rc == FLB_RETRY ? "RETRY" : "ERROR";
    long flushes;
    pthread_mutex_lock(&stat_mu);
    flushes = ++n_flush;
    if (rc == FLB_OK) n_ok++;
    else if (rc == FLB_RETRY) n_retry++;
    else n_error++;
    pthread_mutex_unlock(&stat_mu);
    emit("flush cycle=%d instance=%d chunk=%s seq=%d attempt=%d rc=%d result=%s thread=%s.%d stack=%zu bytes=%zu ms=%.1f",
         cur_cycle, ins->id, t->chunk->path, t->seq, t->attempt, rc, res, label, index, sc.stack_size,
         t->chunk->size, ms);
    if (sc.rss_every > 0 && flushes % sc.rss_every == 0) {
        char phase[64];
        snprintf(phase, sizeof(phase), "flush%ld", flushes);
        report_rss(phase);
    }
    struct task *requeue = NULL;
    if (rc == FLB_RETRY) {
        if (t->attempt <= ins->retry_limit) {
            /* the engine schedules a retry: same bytes, later, new coroutine */
            t->attempt++;
            t->not_before = now_ms() + sc.retry_wait_ms;
            requeue = t;
        } else {
            pthread_mutex_lock(&stat_mu);
            n_exhausted++;
            pthread_mutex_unlock(&stat_mu);
            emit("retry_exhausted cycle=%d instance=%d chunk=%s seq=%d attempts=%d", cur_cycle, ins->id,
                 t->chunk->path, t->seq, t->attempt);
        }
    }
    if (!requeue) free(t);
    q_done(q, requeue);
}

struct worker_arg {
    struct queue *q;
    char label[32];
    int index;
};

static void *worker_main(void *arg)
{
    struct worker_arg *wa = arg;
    struct task *t;
    while ((t = q_pop(wa->q)) != NULL) run_task(wa->q, wa->label, wa->index, t);
    return NULL;
}

static int startup_failed;

static void exit_instance(struct instance *ins, int hot_reload)
{
    if (ps.pre_exit) {
        ps.pre_exit(hot_reload);
        emit("preexit cycle=%d instance=%d shutdown_by_hot_reloading=%d", cur_cycle, ins->id, hot_reload);
    }
    int rc;
    if (ps.plugin.cb_exit_ctx) {
        rc = ps.plugin.cb_exit_ctx(ins->ctx->remote_context);
        emit("exit cycle=%d instance=%d call=ExitCtx rc=%d", cur_cycle, ins->id, rc);
    } else if (ps.plugin.cb_exit) {
        rc = ps.plugin.cb_exit();
        emit("exit cycle=%d instance=%d call=Exit rc=%d", cur_cycle, ins->id, rc);
    }
    free(ins->ctx);
    ins->ctx = NULL;
    ins->init_ok = 0;
}

/* The engine thread ("flb-pipeline"): Init, PreRun, flushes of workers-0
 * instances, worker pools of the others, shutdown. */
static void *engine_main(void *arg)
{
    int hot_next = *(int *)arg; /* this cycle ends with a hot reload */
    int n_init = 0;
    for (int i = 0; i < sc.nins; i++) {
        struct instance *ins = &sc.ins[i];
        ins->ctx = xcalloc(1, sizeof(*ins->ctx));
        ins->ctx->proxy = &ps; /* non-NULL, opaque */
        /* proxy_go_output_init re-points the shared struct at this instance */
        ps.plugin.o_ins = (struct flb_output_instance *)ins;
        ps.plugin.context = ins->ctx;
        int rc = ps.plugin.cb_init(&ps.plugin);
        emit("init cycle=%d instance=%d rc=%d ctx=%s", cur_cycle, ins->id, rc,
             ins->ctx->remote_context ? "set" : "null");
        if (rc <= 0) {
            /* flb_output_init_all fails: engine start fails, no Exit for it */
            free(ins->ctx);
            ins->ctx = NULL;
            startup_failed = 1;
            emit("startup_failed cycle=%d instance=%d", cur_cycle, ins->id);
            break;
        }
        ins->init_ok = 1;
        n_init++;
    }
    if (startup_failed) {
        for (int i = 0; i < sc.nins; i++) {
            if (sc.ins[i].init_ok) exit_instance(&sc.ins[i], 0);
        }
        return NULL;
    }
    for (int i = 0; i < sc.nins; i++) {
        if (ps.pre_run) {
            int rc = ps.pre_run(0);
            emit("prerun cycle=%d instance=%d rc=%d", cur_cycle, sc.ins[i].id, rc);
        }
    }
    report_rss("init");

    struct queue engine_q;
    q_init(&engine_q);
    struct queue *qs = xcalloc((size_t)sc.nins, sizeof(*qs));
    pthread_t **threads = xcalloc((size_t)sc.nins, sizeof(*threads));
    struct worker_arg **args = xcalloc((size_t)sc.nins, sizeof(*args));
    for (int i = 0; i < sc.nins; i++) {
        struct instance *ins = &sc.ins[i];
        struct queue *q = ins->workers > 0 ? &qs[i] : &engine_q;
        if (ins->workers > 0) q_init(q);
        int seq = 0;
        pthread_mutex_lock(&q->mu);
        for (int c = 0; c < ins->nchunks; c++) {
            for (int r = 0; r < ins->chunks[c].repeat; r++) {
                struct task *t = xcalloc(1, sizeof(*t));
                t->ins = ins;
                t->chunk = &ins->chunks[c];
                t->seq = seq++;
                t->attempt = 1;
                q_push_locked(q, t);
            }
        }
        pthread_mutex_unlock(&q->mu);
    }
    for (int i = 0; i < sc.nins; i++) {
        struct instance *ins = &sc.ins[i];
        if (ins->workers <= 0) continue;
        threads[i] = xcalloc((size_t)ins->workers, sizeof(pthread_t));
        args[i] = xcalloc((size_t)ins->workers, sizeof(struct worker_arg));
        for (int w = 0; w < ins->workers; w++) {
            args[i][w].q = &qs[i];
            snprintf(args[i][w].label, sizeof(args[i][w].label), "w%d", ins->id);
            args[i][w].index = w;
            if (pthread_create(&threads[i][w], NULL, worker_main, &args[i][w]) != 0)
                fatal("pthread_create worker");
        }
    }
    struct task *t;
    while ((t = q_pop(&engine_q)) != NULL) run_task(&engine_q, "engine", 0, t);
    for (int i = 0; i < sc.nins; i++) {
        for (int w = 0; w < sc.ins[i].workers; w++) pthread_join(threads[i][w], NULL);
        free(threads[i]);
        free(args[i]);
    }
    free(threads);
    free(args);
    free(qs);
    report_rss("flushed");
    for (int i = 0; i < sc.nins; i++) {
        if (sc.ins[i].init_ok) exit_instance(&sc.ins[i], hot_next);
    }
    return NULL;
}

static void *sym(void *dl, const char *name)
{
    dlerror();
    void *p = dlsym(dl, name);
    if (dlerror() != NULL) return NULL;
    return p;
}

static void run_cycle(int cycle)
{
    cur_cycle = cycle;
    const char *base = strrchr(sc.plugin, '/');
    base = base ? base + 1 : sc.plugin;
    if (strncmp(base, "flb-", 4) == 0)
        fatal("%s starts with flb- and would be loaded as a C plugin by Fluent Bit", base);

    memset(&ps, 0, sizeof(ps));
    dlerror();
    ps.dl = dlopen(sc.plugin, RTLD_LAZY);
    if (!ps.dl) fatal("dlopen: %s", dlerror());
    emit("load cycle=%d path=%s", cycle, sc.plugin);

    ps.pre_register = (pre_register_fn)sym(ps.dl, "FLBPluginPreRegister");
    ps.reg = (register_fn)sym(ps.dl, "FLBPluginRegister");
    ps.unreg = (unregister_fn)sym(ps.dl, "FLBPluginUnregister");
    ps.pre_run = (pre_run_fn)sym(ps.dl, "FLBPluginOutputPreRun");
    ps.pre_exit = (pre_exit_fn)sym(ps.dl, "FLBPluginOutputPreExit");
    if (!ps.reg) fatal("no FLBPluginRegister symbol");

    /* flb_plugin_proxy_create */
    size_t def_size = sizeof(struct flb_plugin_proxy_def);
#ifdef FLB_ABI_OLD
    unsigned char *mem = malloc(def_size + CANARY_LEN); /* flb_malloc, not zeroed */
    if (!mem) fatal("out of memory");
    memset(mem, 0xCC, def_size);
#else
    unsigned char *mem = xcalloc(1, def_size + CANARY_LEN); /* flb_calloc since 4.2.3/5.0 */
#endif
    memset(mem + def_size, CANARY_BYTE, CANARY_LEN);
    ps.def = (struct flb_plugin_proxy_def *)mem;
    ps.def->type = 0;

    ps.api.output_get_property = api_output_get_property;
    ps.api.input_get_property = api_input_get_property;
    ps.api.output_get_cmt_instance = api_output_get_cmt;
    ps.api.input_get_cmt_instance = api_input_get_cmt;
    ps.api.log_print = api_log_print;
    ps.api.input_log_check = api_input_log_check;
    ps.api.output_log_check = api_output_log_check;
    ps.api.custom_get_property = api_custom_get_property;
    ps.api.custom_log_check = api_custom_log_check;

    /* flb_plugin_proxy_register */
    if (ps.pre_register) {
        int rc = ps.pre_register(cycle > 1);
        emit("preregister cycle=%d hot_reloading=%d rc=%d", cycle, cycle > 1, rc);
        if (rc == -1) fatal("FLBPluginPreRegister returned -1: registration aborted");
    }
    int rc = ps.reg(ps.def);
    int canary_ok = 1;
    for (int i = 0; i < CANARY_LEN; i++) {
        if (mem[def_size + i] != CANARY_BYTE) canary_ok = 0;
    }
#ifdef FLB_ABI_OLD
    int event_type = 0;
    const char *abi = "old";
#else
    int event_type = ps.def->event_type;
    const char *abi = "new";
    if (ps.def->config_map != NULL) fatal("config_map set: fluent-bit-go does not know this field");
#endif
    emit("register cycle=%d rc=%d type=%d proxy=%d flags=%d name=%s event_type=%d abi=%s def_size=%zu canary=%s",
         cycle, rc, ps.def->type, ps.def->proxy, ps.def->flags, ps.def->name ? ps.def->name : "(null)",
         event_type, abi, def_size, canary_ok ? "intact" : "clobbered");
    if (rc == -1) fatal("FLBPluginRegister returned -1");
    if (!canary_ok) fatal("FLBPluginRegister wrote past the %zu-byte definition", def_size);
    if (ps.def->type != FLB_PROXY_OUTPUT_PLUGIN) fatal("def->type=%d, want 2 (output)", ps.def->type);
    if (ps.def->proxy != FLB_PROXY_GOLANG) fatal("def->proxy=%d, want 11 (Go)", ps.def->proxy);
    if (!ps.def->name || !*ps.def->name) fatal("def->name is empty");

    /* proxy_go_output_register */
    ps.plugin.cb_init = (int (*)(struct flbgo_output_plugin *))sym(ps.dl, "FLBPluginInit");
    if (!ps.plugin.cb_init) fatal("no FLBPluginInit symbol");
    ps.plugin.cb_flush = (int (*)(const void *, size_t, const char *))sym(ps.dl, "FLBPluginFlush");
    ps.plugin.cb_flush_ctx = (int (*)(void *, const void *, size_t, char *))sym(ps.dl, "FLBPluginFlushCtx");
    ps.plugin.cb_exit = (int (*)(void))sym(ps.dl, "FLBPluginExit");
    ps.plugin.cb_exit_ctx = (int (*)(void *))sym(ps.dl, "FLBPluginExitCtx");
    if (!ps.plugin.cb_flush && !ps.plugin.cb_flush_ctx)
        fatal("neither FLBPluginFlush nor FLBPluginFlushCtx: Fluent Bit would crash at the first flush");
    ps.plugin.name = xstrdup(ps.def->name);
    ps.plugin.api = &ps.api;
    emit("symbols cycle=%d flush_ctx=%d flush=%d exit_ctx=%d exit=%d unregister=%d preregister=%d prerun=%d preexit=%d",
         cycle, !!ps.plugin.cb_flush_ctx, !!ps.plugin.cb_flush, !!ps.plugin.cb_exit_ctx, !!ps.plugin.cb_exit,
         !!ps.unreg, !!ps.pre_register, !!ps.pre_run, !!ps.pre_exit);

    for (int i = 0; i < sc.nins; i++) {
        if (strcasecmp(sc.ins[i].name, ps.def->name) != 0)
            fatal("instance %d: no output plugin named %s (registered: %s)", i, sc.ins[i].name, ps.def->name);
    }
    report_rss("loaded");

    pthread_t engine;
    int hot_next = cycle < sc.cycles;
    if (pthread_create(&engine, NULL, engine_main, &hot_next) != 0) fatal("pthread_create engine");
    pthread_join(engine, NULL);
    report_rss("exit");

    /* flb_proxy_output_cb_destroy */
    if (ps.unreg) {
        ps.unreg(ps.def);
        emit("unregister cycle=%d", cycle);
    }
    free(ps.plugin.name);
    free(ps.def);
    rc = dlclose(ps.dl);
    void *still = dlopen(sc.plugin, RTLD_LAZY | RTLD_NOLOAD);
    emit("dlclose cycle=%d rc=%d still_mapped=%d", cycle, rc, still != NULL);
    if (still) dlclose(still);
    report_rss("cycle_end");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s scenario-file\n", argv[0]);
        return 3;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    parse_scenario(argv[1]);
    for (int c = 1; c <= sc.cycles && !startup_failed; c++) {
        run_cycle(c);
        emit("cycle cycle=%d flushes=%ld ok=%ld retry=%ld error=%ld exhausted=%ld", c, n_flush, n_ok, n_retry,
             n_error, n_exhausted);
    }
    emit("summary cycles=%d flushes=%ld ok=%ld retry=%ld error=%ld exhausted=%ld startup_failed=%d", sc.cycles,
         n_flush, n_ok, n_retry, n_error, n_exhausted, startup_failed);
    return startup_failed ? 2 : 0;
}
