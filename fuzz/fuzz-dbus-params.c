/* Fuzzes the reader of Enable's a{sv} parameters (lg_bus_read_params in src/bus.c), the code that
 * turns whatever a D-Bus caller sends into typed values, then binding and compiling what it accepts.
 *
 * The input is a small text program that builds the a{sv} with sd-bus's own append functions, so
 * every message is one that sd-bus (and the bus daemon) would deliver: one line per entry,
 *     KEY SIGNATURE TOKEN…
 * where SIGNATURE is the variant's contents and the tokens fill it depth first: a basic value
 * takes one token; an array takes a count (capped) and then its items (the last token repeats
 * once they run out); a variant takes a signature token, then its contents. In tokens, \s is a
 * space, \n a newline, \t a tab, \e makes the token empty and \xHH is a byte. E.g.
 *     tunnel s wg0
 *     servers as 2 192.0.2.1:51820/udp [2001:db8::1]:53
 *     deep v v v s x          (a variant in a variant in a variant)
 *     ports aq 100000 53      (100,000 times port 53)
 * Oracles: no crash or leak; every failure is an InvalidParameters error with a short UTF-8 message;
 * what is accepted binds (after defaults) and compiles or fails with an error. */
#include "fuzz.h"

#include "bus.h"
#include "compile.h"
#include "error.h"
#include "policy.h"

#include <sys/socket.h>
#include <unistd.h>

#define MAX_ELEMENTS 20000 /* per input, so that one input runs in milliseconds */

static const char policy_yaml[] =
        "policy: typed\n"
        "parameters:\n"
        "  iface:  { type: interface }\n"
        "  ifaces: { type: interfaces, default: [] }\n"
        "  addrs:  { type: addresses, default: [] }\n"
        "  eps:    { type: endpoints, default: [] }\n"
        "  ports:  { type: ports, default: [] }\n"
        "  who:    { type: user, default: 0 }\n"
        "  flag:   { type: bool, default: false }\n"
        "  cgroup: { type: string, default: system.slice }\n"
        "sublayers:\n"
        "  - name: typed\n"
        "    weight: 100\n"
        "    filters:\n"
        "      - { name: iface, layers: [outbound], weight: 9, action: block,\n"
        "          match: { interface: $iface, remote_port: $ports } }\n"
        "      - { name: ifaces, layers: [inbound], weight: 8, action: permit, match: { interface: $ifaces } }\n"
        "      - { name: addrs, layers: [outbound, inbound], weight: 7, action: block, match: { remote: $addrs } }\n"
        "      - { name: eps, layers: [outbound, connect], weight: 6, action: hard-permit, match: { remote: $eps } }\n"
        "      - { name: local, layers: [accept], weight: 5, action: block, match: { local: $eps, local_port: $ports } }\n"
        "      - { name: user, when: $flag, layers: [outbound], weight: 4, action: block, match: { user: $who } }\n"
        "      - { name: cgroup, when: \"!$flag\", layers: [outbound], weight: 3, action: block,\n"
        "          match: { cgroup: $cgroup } }\n";

static LgPolicy *policy;
static sd_bus *bus;

typedef struct {
        char **tokens;
        guint n, i;
        const char *last;
        guint elements;
} Tokens;

static const char *next_token(Tokens *t) {
        if (t->i < t->n)
                t->last = t->tokens[t->i++];
        return t->last ? t->last : "";
}

static char *unescape(const char *s) {
        GString *out = g_string_new(NULL);
        for (; *s; s++) {
                if (*s != '\\' || !s[1]) {
                        g_string_append_c(out, *s);
                        continue;
                }
                s++;
                if (*s == 's')
                        g_string_append_c(out, ' ');
                else if (*s == 'n')
                        g_string_append_c(out, '\n');
                else if (*s == 't')
                        g_string_append_c(out, '\t');
                else if (*s == 'e')
                        ;
                else if (*s == 'x' && g_ascii_isxdigit(s[1]) && g_ascii_isxdigit(s[2])) {
                        g_string_append_c(out, (char) (g_ascii_xdigit_value(s[1]) * 16 + g_ascii_xdigit_value(s[2])));
                        s += 2;
                } else
                        g_string_append_c(out, *s);
        }
        return g_string_free(out, FALSE);
}

/* Length of the complete type at `s`, 0 if there is none. */
static size_t complete_type(const char *s) {
        if (!*s)
                return 0;
        if (*s == 'a') {
                size_t n = complete_type(s + 1);
                return n ? n + 1 : 0;
        }
        if (*s == '(' || *s == '{') {
                char close = *s == '(' ? ')' : '}';
                size_t i = 1;
                while (s[i] && s[i] != close) {
                        size_t n = complete_type(s + i);
                        if (!n)
                                return 0;
                        i += n;
                }
                return s[i] == close ? i + 1 : 0;
        }
        return strchr("ybnqiuxtdsogvh", *s) ? 1 : 0;
}

static int fill(sd_bus_message *m, const char *sig, size_t len, Tokens *t, int depth);

static int fill_all(sd_bus_message *m, const char *sig, size_t len, Tokens *t, int depth) {
        for (size_t i = 0; i < len;) {
                size_t n = complete_type(sig + i);
                if (!n || i + n > len)
                        return -EINVAL;
                int k = fill(m, sig + i, n, t, depth);
                if (k < 0)
                        return k;
                i += n;
        }
        return 0;
}

static int fill(sd_bus_message *m, const char *sig, size_t len, Tokens *t, int depth) {
        if (depth > 200)
                return -EINVAL;
        g_autofree char *contents = g_strndup(sig + 1, len >= 2 ? len - (sig[0] == 'a' ? 1 : 2) : 0);
        switch (sig[0]) {
        case 'a': {
                guint64 count = g_ascii_strtoull(next_token(t), NULL, 10);
                if (count > MAX_ELEMENTS - t->elements)
                        count = MAX_ELEMENTS - t->elements;
                t->elements += count;
                int k = sd_bus_message_open_container(m, 'a', contents);
                for (guint64 i = 0; k >= 0 && i < count; i++)
                        k = fill(m, contents, strlen(contents), t, depth + 1);
                return k < 0 ? k : sd_bus_message_close_container(m);
        }
        case '(':
        case '{': {
                int k = sd_bus_message_open_container(m, sig[0] == '(' ? 'r' : 'e', contents);
                if (k >= 0)
                        k = fill_all(m, contents, strlen(contents), t, depth + 1);
                return k < 0 ? k : sd_bus_message_close_container(m);
        }
        case 'v': {
                g_autofree char *inner = unescape(next_token(t));
                int k = sd_bus_message_open_container(m, 'v', inner);
                if (k >= 0)
                        k = fill_all(m, inner, strlen(inner), t, depth + 1);
                return k < 0 ? k : sd_bus_message_close_container(m);
        }
        case 'h':
                return -EINVAL; /* a unix fd: not sent over a socketpair bus without fd passing */
        case 's':
        case 'o':
        case 'g': {
                g_autofree char *s = unescape(next_token(t));
                return sd_bus_message_append_basic(m, sig[0], s);
        }
        case 'd': {
                double d = g_ascii_strtod(next_token(t), NULL);
                return sd_bus_message_append_basic(m, 'd', &d);
        }
        default: {
                const char *tok = next_token(t);
                guint64 u = tok[0] == '-' ? (guint64) g_ascii_strtoll(tok, NULL, 0) : g_ascii_strtoull(tok, NULL, 0);
                union {
                        uint8_t y;
                        int b;
                        int16_t n;
                        uint16_t q;
                        int32_t i;
                        uint32_t u;
                        int64_t x;
                        uint64_t t;
                } v;
                switch (sig[0]) {
                case 'y': v.y = (uint8_t) u; break;
                case 'b': v.b = u != 0; break;
                case 'n': v.n = (int16_t) u; break;
                case 'q': v.q = (uint16_t) u; break;
                case 'i': v.i = (int32_t) u; break;
                case 'u': v.u = (uint32_t) u; break;
                default: v.t = u; break;
                }
                return sd_bus_message_append_basic(m, sig[0], &v);
        }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (!policy) {
                fuzz_init_glib();
                GError *e = NULL;
                policy = lg_policy_load_data(policy_yaml, sizeof policy_yaml - 1, "typed.yaml", &e);
                if (!policy) {
                        fprintf(stderr, "%s\n", e->message);
                        abort();
                }
                /* A bus object that is "started" on one end of a socketpair: enough to build and
                 * seal messages; nothing is ever sent. */
                int sv[2];
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || sd_bus_new(&bus) < 0 ||
                    sd_bus_set_fd(bus, sv[0], sv[0]) < 0 || sd_bus_start(bus) < 0)
                        abort();
        }
        g_autofree char *text = g_strndup((const char *) data, size);
        g_auto(GStrv) lines = g_strsplit(text, "\n", 64);
        g_autoptr(sd_bus_message) m = NULL;
        if (sd_bus_message_new_method_call(bus, &m, LG_BUS_NAME, LG_BUS_PATH, LG_BUS_INTERFACE, "Enable") < 0)
                abort();
        int k = sd_bus_message_open_container(m, 'a', "{sv}");
        guint elements = 0;
        for (char **line = lines; k >= 0 && *line; line++) {
                if (!**line)
                        continue;
                g_auto(GStrv) tokens = g_strsplit(*line, " ", 100000);
                Tokens t = {.tokens = tokens, .n = g_strv_length(tokens), .elements = elements};
                g_autofree char *key = unescape(next_token(&t));
                g_autofree char *sig = unescape(t.n > 1 ? next_token(&t) : "s");
                t.last = NULL;
                k = sd_bus_message_open_container(m, 'e', "sv");
                if (k >= 0)
                        k = sd_bus_message_append_basic(m, 's', key);
                if (k >= 0)
                        k = sd_bus_message_open_container(m, 'v', sig);
                if (k >= 0)
                        k = fill_all(m, sig, strlen(sig), &t, 2);
                if (k >= 0)
                        k = sd_bus_message_close_container(m);
                if (k >= 0)
                        k = sd_bus_message_close_container(m);
                elements = t.elements;
        }
        if (k >= 0)
                k = sd_bus_message_close_container(m);
        /* A message sd-bus would not build (bad UTF-8, bad signature, too deep) never reaches us. */
        if (k < 0 || sd_bus_message_seal(m, 1, 0) < 0 || sd_bus_message_rewind(m, true) < 0)
                return 0;

        g_autoptr(GError) e = NULL;
        g_autoptr(GHashTable) given = lg_bus_read_params(m, policy, &e);
        if (!given) {
                fuzz_check_error(e);
                FUZZ_CHECK(e->domain == LG_ERROR && e->code == LG_ERROR_INVALID_PARAMETERS,
                           "not InvalidParameters: %s", e->message);
                return 0;
        }
        GHashTableIter it;
        gpointer key, val;
        g_hash_table_iter_init(&it, given);
        while (g_hash_table_iter_next(&it, &key, &val)) {
                const LgParamDecl *d = lg_policy_find_param(policy, key);
                FUZZ_CHECK(d, "accepted an undeclared parameter '%s'", (char *) key);
                FUZZ_CHECK(((LgValue *) val)->type == d->type, "'%s' has another type", (char *) key);
        }
        g_autoptr(GHashTable) bound = lg_policy_bind_params(policy, given, &e);
        if (!bound) {
                fuzz_check_error(e);
                return 0;
        }
        LgEnabled en = {.policy = policy, .params = bound};
        g_autoptr(GPtrArray) list = g_ptr_array_new();
        g_ptr_array_add(list, &en);
        g_autoptr(LgRuleset) r = lg_compile(list, &e);
        if (!r) {
                fuzz_check_error(e);
                return 0;
        }
        g_autoptr(GString) out = g_string_new(NULL);
        lg_table_write_new_sets(r->persistent, NULL, out);
        lg_table_write_replace(r->persistent, NULL, LG_TABLE_PERSISTENT, false, false, out);
        FUZZ_CHECK(g_utf8_validate(out->str, out->len, NULL), "ruleset text is not UTF-8");
        return 0;
}
