#include "params.h"
#include "error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <string.h>

static const char *const type_names[_LG_TYPE_MAX] = {
        [LG_TYPE_INTERFACE] = "interface",
        [LG_TYPE_INTERFACES] = "interfaces",
        [LG_TYPE_ADDRESSES] = "addresses",
        [LG_TYPE_ENDPOINTS] = "endpoints",
        [LG_TYPE_PORTS] = "ports",
        [LG_TYPE_BOOL] = "bool",
        [LG_TYPE_USER] = "user",
        [LG_TYPE_STRING] = "string",
};

const char *lg_type_to_string(LgType t) {
        return t >= 0 && t < _LG_TYPE_MAX ? type_names[t] : "invalid";
}

LgType lg_type_from_string(const char *s) {
        for (int i = 0; i < _LG_TYPE_MAX; i++)
                if (g_str_equal(s, type_names[i]))
                        return i;
        return _LG_TYPE_INVALID;
}

bool lg_type_is_list(LgType t) {
        return t == LG_TYPE_INTERFACES || t == LG_TYPE_ADDRESSES || t == LG_TYPE_ENDPOINTS || t == LG_TYPE_PORTS;
}

LgValue *lg_value_new(LgType type) {
        LgValue *v = g_new0(LgValue, 1);
        v->type = type;
        switch (type) {
        case LG_TYPE_INTERFACE:
        case LG_TYPE_INTERFACES:
                v->names = g_ptr_array_new_with_free_func(g_free);
                break;
        case LG_TYPE_ADDRESSES:
                v->addrs = g_array_new(FALSE, FALSE, sizeof(LgAddr));
                break;
        case LG_TYPE_ENDPOINTS:
                v->endpoints = g_array_new(FALSE, FALSE, sizeof(LgEndpoint));
                break;
        case LG_TYPE_PORTS:
                v->ports = g_array_new(FALSE, FALSE, sizeof(LgPortRange));
                break;
        default:
                break;
        }
        return v;
}

void lg_value_free(LgValue *v) {
        if (!v)
                return;
        if (v->names)
                g_ptr_array_unref(v->names);
        if (v->addrs)
                g_array_unref(v->addrs);
        if (v->endpoints)
                g_array_unref(v->endpoints);
        if (v->ports)
                g_array_unref(v->ports);
        g_free(v->string);
        g_free(v->canonical); /* one block: see lg_value_canonical() */
        g_free(v);
}

static GArray *array_copy(GArray *a) {
        if (!a)
                return NULL;
        GArray *c = g_array_sized_new(FALSE, FALSE, g_array_get_element_size(a), a->len);
        g_array_append_vals(c, a->data, a->len);
        return c;
}

LgValue *lg_value_copy(const LgValue *v) {
        LgValue *c = g_new0(LgValue, 1);
        *c = *v;
        if (v->names) {
                c->names = g_ptr_array_new_full(v->names->len, g_free);
                for (guint i = 0; i < v->names->len; i++)
                        g_ptr_array_add(c->names, g_strdup(v->names->pdata[i]));
        }
        c->addrs = array_copy(v->addrs);
        c->endpoints = array_copy(v->endpoints);
        c->ports = array_copy(v->ports);
        c->string = g_strdup(v->string);
        c->canonical = NULL;
        return c;
}

static bool array_equal(GArray *a, GArray *b) {
        if (!a || !b)
                return a == b;
        /* An empty GArray's data may be NULL, and memcmp(NULL, …, 0) is undefined behaviour. */
        return a->len == b->len &&
               (a->len == 0 || memcmp(a->data, b->data, (size_t) a->len * g_array_get_element_size(a)) == 0);
}

bool lg_value_equal(const LgValue *a, const LgValue *b) {
        if (a->type != b->type || a->boolean != b->boolean || a->uid != b->uid ||
            g_strcmp0(a->string, b->string) != 0)
                return false;
        if (!a->names != !b->names || (a->names && a->names->len != b->names->len))
                return false;
        for (guint i = 0; a->names && i < a->names->len; i++)
                if (!g_str_equal(a->names->pdata[i], b->names->pdata[i]))
                        return false;
        if (!array_equal(a->addrs, b->addrs) || !array_equal(a->ports, b->ports))
                return false;
        /* LgEndpoint has padding after its LgAddr that initializers and struct copies leave
         * indeterminate, so endpoints are compared field by field, never with memcmp(). */
        if (!a->endpoints || !b->endpoints)
                return a->endpoints == b->endpoints;
        if (a->endpoints->len != b->endpoints->len)
                return false;
        for (guint i = 0; i < a->endpoints->len; i++) {
                const LgEndpoint *x = &g_array_index(a->endpoints, LgEndpoint, i);
                const LgEndpoint *y = &g_array_index(b->endpoints, LgEndpoint, i);
                if (memcmp(&x->addr, &y->addr, sizeof x->addr) != 0 || x->proto != y->proto || x->port != y->port)
                        return false;
        }
        return true;
}

bool lg_parse_uint64(const char *s, uint64_t max, uint64_t *ret) {
        if (!s || !g_ascii_isdigit(s[0]))
                return false;
        guint64 v;
        if (!g_ascii_string_to_unsigned(s, 10, 0, max, &v, NULL))
                return false;
        *ret = v;
        return true;
}

/* The kernel's dev_valid_name() plus a conservative character set: names go into nftables
 * strings, so only characters that need no quoting inside "..." are allowed. */
bool lg_parse_interface(const char *s, bool allow_wildcard, char **ret, GError **error) {
        size_t len = strlen(s);
        size_t body = len;
        if (allow_wildcard && len > 0 && s[len - 1] == '*')
                body = len - 1;
        if (len == 0) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "empty interface name");
                return false;
        }
        /* nftables refuses an all-wildcard "*" ("All-wildcard strings are not supported"), so it
         * must fail here as an invalid value, not later as a failed transaction. */
        if (body == 0) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                            "interface name '*' would match every interface: a wildcard needs a prefix, such as wg*");
                return false;
        }
        if (len >= LG_IFNAMSIZ) {
                /* Escaped before truncation: the raw bytes may hold control characters, and cutting
                 * them could split a UTF-8 sequence (D-Bus error messages must be valid UTF-8). */
                g_autofree char *esc = g_strescape(s, NULL);
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                            "interface name '%.40s%s' is %zu bytes long, the kernel allows at most %d", esc,
                            strlen(esc) > 40 ? "…" : "", len, LG_IFNAMSIZ - 1);
                return false;
        }
        if (g_str_equal(s, ".") || g_str_equal(s, "..")) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "'%s' is not a valid interface name", s);
                return false;
        }
        for (size_t i = 0; i < body; i++) {
                char c = s[i];
                if (!(g_ascii_isalnum(c) || c == '_' || c == '-' || c == '.' || c == '@' || c == '+')) {
                        g_autofree char *esc = g_strescape(s, NULL);
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                    "interface name '%s' contains '%c'; allowed are letters, digits and _-.@+%s",
                                    esc, g_ascii_isprint(c) ? c : '?', allow_wildcard ? " (and a trailing '*')" : "");
                        return false;
                }
        }
        *ret = g_strdup(s);
        return true;
}

static int family_bytes(int family) {
        return family == 4 ? 4 : 16;
}

/* inet_pton(AF_INET)'s grammar (glibc's inet_pton4: exactly four decimal octets of at most 255,
 * no leading zeros, nothing else), in one pass that also tells a ':' apart, so that IPv6 goes to
 * inet_pton() without another scan: nine of ten items of a large parameter are IPv4.
 * test-params compares the two on edge cases and random strings. */
static int parse_ipv4(const char *s, uint8_t out[4]) {
        int octets = 0;
        unsigned val = 0;
        bool digit = false;
        for (;; s++) {
                char c = *s;
                if (c >= '0' && c <= '9') {
                        if ((digit && val == 0) || (val = val * 10 + (unsigned) (c - '0')) > 255)
                                return 0;
                        digit = true;
                } else if (c == '.' || c == '\0') {
                        if (!digit || octets == 4)
                                return 0;
                        out[octets++] = (uint8_t) val;
                        val = 0;
                        digit = false;
                        if (c == '\0')
                                return octets == 4;
                } else
                        return c == ':' ? -1 : 0;
        }
}

static bool parse_ip(const char *s, uint8_t *family, uint8_t out[16]) {
        memset(out, 0, 16);
        int r = parse_ipv4(s, out);
        if (r > 0) {
                *family = 4;
                return true;
        }
        /* A ':' after what looked like IPv4 (::ffff:1.2.3.4 starts with one), or anywhere. */
        if (r == 0 && !strchr(s, ':')) {
                memset(out, 0, 16);
                return false;
        }
        memset(out, 0, 16);
        if (inet_pton(AF_INET6, s, out) != 1)
                return false;
        *family = 6;
        return true;
}

static void prefix_to_range(LgAddr *a, int plen) {
        int nbytes = family_bytes(a->family);
        memcpy(a->end, a->start, 16);
        for (int i = 0; i < nbytes; i++) {
                int bits = plen - i * 8;
                uint8_t mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t) (0xff << (8 - bits));
                a->start[i] &= mask;
                a->end[i] |= (uint8_t) ~mask;
        }
}

static void set_addr_error(GError **error, const char *s, const char *why) {
        g_autofree char *esc = g_strescape(s, NULL);
        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "'%.80s' is not a valid address%s%s", esc,
                    why ? ": " : "", why ? why : "");
}

bool lg_parse_addr(const char *s, LgAddr *ret, GError **error) {
        LgAddr a = {0};
        /* Split in a copy on the stack: a 100,000-prefix parameter is parsed once from D-Bus and once
         * more by the netlink encoder, and two allocations per item were a third of the parse. */
        size_t len = strnlen(s, 101);
        if (len > 100) {
                set_addr_error(error, s, "too long");
                return false;
        }
        char buf[101];
        memcpy(buf, s, len + 1);
        char *slash = strchr(buf, '/');
        char *dash = strchr(buf, '-');
        if (slash && dash) {
                set_addr_error(error, s, "a prefix and a range at once");
                return false;
        }
        if (dash) {
                *dash = '\0';
                uint8_t f2;
                if (!parse_ip(buf, &a.family, a.start) || !parse_ip(dash + 1, &f2, a.end)) {
                        set_addr_error(error, s, "expected ADDRESS-ADDRESS");
                        return false;
                }
                if (f2 != a.family) {
                        set_addr_error(error, s, "the range mixes IPv4 and IPv6");
                        return false;
                }
                if (memcmp(a.start, a.end, 16) > 0) {
                        set_addr_error(error, s, "the range ends before it starts");
                        return false;
                }
                *ret = a;
                return true;
        }
        if (slash)
                *slash = '\0';
        if (!parse_ip(buf, &a.family, a.start)) {
                set_addr_error(error, s, "expected an IPv4 or IPv6 address, ADDRESS/PREFIX or ADDRESS-ADDRESS");
                return false;
        }
        int maxlen = family_bytes(a.family) * 8;
        uint64_t plen = maxlen;
        if (slash && !lg_parse_uint64(slash + 1, maxlen, &plen)) {
                g_autofree char *why = g_strdup_printf("the prefix length must be a number from 0 to %d", maxlen);
                set_addr_error(error, s, why);
                return false;
        }
        uint8_t orig[16];
        memcpy(orig, a.start, 16);
        prefix_to_range(&a, (int) plen);
        if (memcmp(orig, a.start, 16) != 0) {
                GString *want = g_string_new(NULL);
                lg_addr_format(&a, want);
                g_autofree char *why = g_strdup_printf("host bits are set (did you mean %s?)", want->str);
                g_string_free(want, TRUE);
                set_addr_error(error, s, why);
                return false;
        }
        *ret = a;
        return true;
}

bool lg_parse_endpoint(const char *s, LgEndpoint *ret, GError **error) {
        LgEndpoint e = {.proto = -1, .port = -1};
        g_autofree char *buf = g_strdup(s);
        g_autofree char *esc = g_strescape(s, NULL);
        if (strlen(s) > 100) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "endpoint '%.80s…' is too long", esc);
                return false;
        }
        char *slash = strrchr(buf, '/');
        if (slash) {
                *slash = '\0';
                if (g_str_equal(slash + 1, "udp"))
                        e.proto = IPPROTO_UDP;
                else if (g_str_equal(slash + 1, "tcp"))
                        e.proto = IPPROTO_TCP;
                else {
                        /* Every part quoted in a message is escaped, as the whole is. */
                        g_autofree char *esc_proto = g_strescape(slash + 1, NULL);
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                    "endpoint '%s': expected ADDRESS[:PORT][/udp|/tcp], '%s' is not udp or tcp "
                                    "(an endpoint is one address, not a prefix)",
                                    esc, esc_proto);
                        return false;
                }
        }
        char *host = buf, *port = NULL;
        if (buf[0] == '[') {
                char *close = strchr(buf, ']');
                if (!close || (close[1] != '\0' && close[1] != ':')) {
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                    "endpoint '%s': expected [IPV6]:PORT", esc);
                        return false;
                }
                *close = '\0';
                host = buf + 1;
                if (close[1] == ':')
                        port = close + 2;
        } else {
                char *colon = strchr(buf, ':');
                if (colon && !strchr(colon + 1, ':')) { /* exactly one colon: IPv4:PORT */
                        *colon = '\0';
                        port = colon + 1;
                }
        }
        if (!parse_ip(host, &e.addr.family, e.addr.start)) {
                g_autofree char *esc_host = g_strescape(host, NULL);
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                            "endpoint '%s': '%s' is not an IPv4 or IPv6 address (expected ADDRESS[:PORT][/udp|/tcp], "
                            "IPv6 with a port as [ADDRESS]:PORT)",
                            esc, esc_host);
                return false;
        }
        memcpy(e.addr.end, e.addr.start, 16);
        if (port) {
                uint64_t p;
                if (!lg_parse_uint64(port, 65535, &p) || p == 0) {
                        g_autofree char *esc_port = g_strescape(port, NULL);
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                    "endpoint '%s': port '%s' is not a number from 1 to 65535", esc, esc_port);
                        return false;
                }
                e.port = (int) p;
        }
        *ret = e;
        return true;
}

static bool parse_port(const char *s, uint16_t *ret) {
        uint64_t v;
        if (!lg_parse_uint64(s, 65535, &v))
                return false;
        *ret = (uint16_t) v;
        return true;
}

bool lg_parse_port_range(const char *s, LgPortRange *ret, GError **error) {
        LgPortRange r;
        const char *dash = strchr(s, '-');
        bool ok;
        if (dash) {
                g_autofree char *lo = g_strndup(s, dash - s);
                ok = parse_port(lo, &r.lo) && parse_port(dash + 1, &r.hi) && r.lo <= r.hi;
        } else {
                ok = parse_port(s, &r.lo);
                r.hi = r.lo;
        }
        if (!ok) {
                g_autofree char *esc = g_strescape(s, NULL);
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                            "'%.40s' is not a port: expected a number from 0 to 65535 or a range A-B with A <= B", esc);
                return false;
        }
        *ret = r;
        return true;
}

bool lg_parse_bool(const char *s, bool *ret, GError **error) {
        if (g_str_equal(s, "true") || g_str_equal(s, "yes") || g_str_equal(s, "1") || g_str_equal(s, "on")) {
                *ret = true;
                return true;
        }
        if (g_str_equal(s, "false") || g_str_equal(s, "no") || g_str_equal(s, "0") || g_str_equal(s, "off")) {
                *ret = false;
                return true;
        }
        g_autofree char *esc = g_strescape(s, NULL);
        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "'%.40s' is not a bool: expected true or false", esc);
        return false;
}

static bool valid_account_name(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 32)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(g_ascii_isalnum(s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
                        return false;
        return true;
}

/* Numbers are taken as ids without a lookup (the account may be created later); names must
 * resolve now, because nftables matches numeric ids. */
bool lg_parse_user(const char *s, uint32_t *ret, GError **error) {
        uint64_t v;
        if (lg_parse_uint64(s, UINT32_MAX - 1, &v)) {
                *ret = (uint32_t) v;
                return true;
        }
        struct passwd *pw = valid_account_name(s) ? getpwnam(s) : NULL;
        if (!pw) {
                g_autofree char *esc = g_strescape(s, NULL);
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "'%.40s' is not a uid or a known user name",
                            esc);
                return false;
        }
        *ret = pw->pw_uid;
        return true;
}

bool lg_parse_group(const char *s, uint32_t *ret, GError **error) {
        uint64_t v;
        if (lg_parse_uint64(s, UINT32_MAX - 1, &v)) {
                *ret = (uint32_t) v;
                return true;
        }
        struct group *gr = valid_account_name(s) ? getgrnam(s) : NULL;
        if (!gr) {
                g_autofree char *esc = g_strescape(s, NULL);
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "'%.40s' is not a gid or a known group name",
                            esc);
                return false;
        }
        *ret = gr->gr_gid;
        return true;
}

bool lg_parse_string(const char *s, char **ret, GError **error) {
        size_t n = strlen(s);
        if (n > LG_MAX_STRING_LEN) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "string of %zu bytes, at most %u allowed", n,
                            LG_MAX_STRING_LEN);
                return false;
        }
        if (!g_utf8_validate(s, -1, NULL)) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "string is not valid UTF-8");
                return false;
        }
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                    "string contains a control character at byte %zu", i);
                        return false;
                }
        *ret = g_strdup(s);
        return true;
}

guint lg_value_count(const LgValue *v) {
        if (!lg_type_is_list(v->type))
                return 1;
        return v->names ? v->names->len
               : v->addrs ? v->addrs->len
               : v->endpoints ? v->endpoints->len
               : v->ports ? v->ports->len
                          : 0;
}

static bool list_full(const LgValue *v, GError **error) {
        guint len = lg_value_count(v);
        if (len >= LG_MAX_LIST_ITEMS) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "more than %u items in one list",
                            LG_MAX_LIST_ITEMS);
                return true;
        }
        return false;
}

bool lg_value_add_item(LgValue *v, const char *item, GError **error) {
        if (list_full(v, error))
                return false;
        switch (v->type) {
        case LG_TYPE_INTERFACE:
                if (v->names->len > 0) {
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                    "expected one interface, got several");
                        return false;
                }
                /* fall through */
        case LG_TYPE_INTERFACES: {
                char *name;
                if (!lg_parse_interface(item, true, &name, error))
                        return false;
                g_ptr_array_add(v->names, name);
                return true;
        }
        case LG_TYPE_ADDRESSES: {
                LgAddr a;
                if (!lg_parse_addr(item, &a, error))
                        return false;
                g_array_append_val(v->addrs, a);
                return true;
        }
        case LG_TYPE_ENDPOINTS: {
                LgEndpoint e;
                if (!lg_parse_endpoint(item, &e, error))
                        return false;
                g_array_append_val(v->endpoints, e);
                return true;
        }
        case LG_TYPE_PORTS: {
                LgPortRange r;
                if (!lg_parse_port_range(item, &r, error))
                        return false;
                g_array_append_val(v->ports, r);
                return true;
        }
        case LG_TYPE_BOOL:
                return lg_parse_bool(item, &v->boolean, error);
        case LG_TYPE_USER:
                return lg_parse_user(item, &v->uid, error);
        case LG_TYPE_STRING:
                g_clear_pointer(&v->string, g_free);
                return lg_parse_string(item, &v->string, error);
        default:
                g_assert_not_reached();
        }
}

LgValue *lg_value_parse_strv(LgType type, const char *const *items, size_t n, GError **error) {
        g_autoptr(LgValue) v = lg_value_new(type);
        /* Only "interface" of the scalar types needs "an"; checked first, or the generic message
         * below would say "a interface". */
        if (type == LG_TYPE_INTERFACE && n != 1) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                            "an interface takes exactly one value, got %zu", n);
                return NULL;
        }
        if (!lg_type_is_list(type) && n != 1) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "a %s takes exactly one value, got %zu",
                            lg_type_to_string(type), n);
                return NULL;
        }
        for (size_t i = 0; i < n; i++)
                if (!lg_value_add_item(v, items[i], error))
                        return NULL;
        return g_steal_pointer(&v);
}

char *lg_value_arg_text(const char *arg, GError **error) {
        if (arg[0] != '@')
                return g_strdup(arg);
        char *data = NULL;
        gsize len;
        GError *e = NULL;
        if (!g_file_get_contents(arg + 1, &data, &len, &e)) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "%s", e->message);
                g_error_free(e);
                return NULL;
        }
        if (strlen(data) != len) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "%s contains a NUL byte", arg + 1);
                g_free(data);
                return NULL;
        }
        return g_strchomp(data);
}

LgValue *lg_value_parse_text(LgType type, const char *text, GError **error) {
        if (!lg_type_is_list(type))
                return lg_value_parse_strv(type, &text, 1, error);
        g_auto(GStrv) parts = g_strsplit_set(text, ", \t\n", -1);
        g_autoptr(GPtrArray) items = g_ptr_array_new();
        for (char **p = parts; *p; p++)
                if (**p)
                        g_ptr_array_add(items, *p);
        return lg_value_parse_strv(type, (const char *const *) items->pdata, items->len, error);
}

/* Decimal digits of v (< 1000) at p; returns the end. */
static char *put_dec(char *p, unsigned v) {
        if (v >= 100)
                *p++ = (char) ('0' + v / 100);
        if (v >= 10)
                *p++ = (char) ('0' + v / 10 % 10);
        *p++ = (char) ('0' + v % 10);
        return p;
}

static char *put_ipv4(char *p, const uint8_t b[4]) {
        for (int i = 0; i < 4; i++) {
                if (i)
                        *p++ = '.';
                p = put_dec(p, b[i]);
        }
        return p;
}

/* inet_ntop()'s text, byte for byte (glibc's inet_ntop6: the longest run of two or more zero words,
 * the first of equal ones, becomes "::"; ::a.b.c.d and ::ffff:a.b.c.d keep the dotted quad), without
 * its sprintf() per word: canonical text is printed for every item of a parameter at each Enable
 * and save, and that printing was the largest user-space cost of a 100,000-prefix Enable.
 * tests/unit/test-params.c compares the two. */
static char *put_ipv6(char *p, const uint8_t b[16]) {
        static const char hex[] = "0123456789abcdef";
        unsigned w[8];
        for (int i = 0; i < 8; i++)
                w[i] = (unsigned) b[2 * i] << 8 | b[2 * i + 1];
        int best = -1, best_len = 0;
        for (int i = 0; i < 8;) {
                if (w[i] != 0) {
                        i++;
                        continue;
                }
                int j = i;
                while (j < 8 && w[j] == 0)
                        j++;
                if (j - i > best_len)
                        best = i, best_len = j - i;
                i = j;
        }
        if (best_len < 2)
                best = -1;
        for (int i = 0; i < 8; i++) {
                if (best >= 0 && i >= best && i < best + best_len) {
                        if (i == best)
                                *p++ = ':';
                        continue;
                }
                if (i != 0)
                        *p++ = ':';
                if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
                        return put_ipv4(p, b + 12);
                bool started = false;
                for (int shift = 12; shift >= 0; shift -= 4) {
                        unsigned d = w[i] >> shift & 0xf;
                        if (d || started || shift == 0) {
                                *p++ = hex[d];
                                started = true;
                        }
                }
        }
        if (best >= 0 && best + best_len == 8)
                *p++ = ':';
        return p;
}

void lg_addr_format(const LgAddr *a, GString *out) {
        /* Two IPv6 addresses with the IPv4 tail (45 bytes each), a '-' or "/128". */
        char buf[2 * 46 + 4];
        char *p = a->family == 4 ? put_ipv4(buf, a->start) : put_ipv6(buf, a->start);
        int plen;
        if (!lg_addr_prefix_len(a, &plen)) {
                *p++ = '-';
                p = a->family == 4 ? put_ipv4(p, a->end) : put_ipv6(p, a->end);
        } else if (plen != family_bytes(a->family) * 8) {
                *p++ = '/';
                p = put_dec(p, (unsigned) plen);
        }
        g_string_append_len(out, buf, p - buf);
}

void lg_endpoint_format(const LgEndpoint *e, GString *out) {
        if (e->port >= 0 && e->addr.family == 6)
                g_string_append_c(out, '[');
        lg_addr_format(&e->addr, out);
        if (e->port >= 0)
                g_string_append_printf(out, "%s:%d", e->addr.family == 6 ? "]" : "", e->port);
        if (e->proto == IPPROTO_UDP)
                g_string_append(out, "/udp");
        else if (e->proto == IPPROTO_TCP)
                g_string_append(out, "/tcp");
}

/* The memo is one block, the NULL-terminated pointers followed by the texts they point into: for a
 * 100,000-item parameter that is a few allocations instead of 100,000, made in the save job's thread
 * (manager.c) while the main thread, sharing the malloc arena, encodes the netlink batch. */
const char *const *lg_value_canonical(const LgValue *v) {
        if (v->canonical)
                return (const char *const *) v->canonical;
        g_autoptr(GString) text = g_string_new(NULL);
        g_autoptr(GArray) offsets = g_array_new(FALSE, FALSE, sizeof(gsize));
        if (v->type == LG_TYPE_ADDRESSES) {
                g_array_set_size(offsets, v->addrs->len);
                for (guint i = 0; i < v->addrs->len; i++) {
                        g_array_index(offsets, gsize, i) = text->len;
                        lg_addr_format(&g_array_index(v->addrs, LgAddr, i), text);
                        g_string_append_c(text, '\0');
                }
        } else {
                g_autoptr(GPtrArray) items = lg_value_to_strv(v);
                g_array_set_size(offsets, items->len);
                for (guint i = 0; i < items->len; i++) {
                        g_array_index(offsets, gsize, i) = text->len;
                        g_string_append_len(text, items->pdata[i], (gssize) strlen(items->pdata[i]) + 1);
                }
        }
        gsize n = offsets->len;
        char **block = g_malloc((n + 1) * sizeof(char *) + text->len);
        char *chars = (char *) (block + n + 1);
        memcpy(chars, text->str, text->len);
        for (gsize i = 0; i < n; i++)
                block[i] = chars + g_array_index(offsets, gsize, i);
        block[n] = NULL;
        ((LgValue *) v)->canonical = block;
        return (const char *const *) block;
}

GPtrArray *lg_value_to_strv(const LgValue *v) {
        GPtrArray *r = g_ptr_array_new_with_free_func(g_free);
        GString *s = g_string_new(NULL);
        switch (v->type) {
        case LG_TYPE_INTERFACE:
        case LG_TYPE_INTERFACES:
                for (guint i = 0; i < v->names->len; i++)
                        g_ptr_array_add(r, g_strdup(v->names->pdata[i]));
                break;
        case LG_TYPE_ADDRESSES:
                for (guint i = 0; i < v->addrs->len; i++) {
                        g_string_truncate(s, 0);
                        lg_addr_format(&g_array_index(v->addrs, LgAddr, i), s);
                        g_ptr_array_add(r, g_strdup(s->str));
                }
                break;
        case LG_TYPE_ENDPOINTS:
                for (guint i = 0; i < v->endpoints->len; i++) {
                        g_string_truncate(s, 0);
                        lg_endpoint_format(&g_array_index(v->endpoints, LgEndpoint, i), s);
                        g_ptr_array_add(r, g_strdup(s->str));
                }
                break;
        case LG_TYPE_PORTS:
                for (guint i = 0; i < v->ports->len; i++) {
                        LgPortRange *p = &g_array_index(v->ports, LgPortRange, i);
                        g_ptr_array_add(r, p->lo == p->hi ? g_strdup_printf("%u", p->lo)
                                                          : g_strdup_printf("%u-%u", p->lo, p->hi));
                }
                break;
        case LG_TYPE_BOOL:
                g_ptr_array_add(r, g_strdup(v->boolean ? "true" : "false"));
                break;
        case LG_TYPE_USER:
                g_ptr_array_add(r, g_strdup_printf("%u", v->uid));
                break;
        case LG_TYPE_STRING:
                g_ptr_array_add(r, g_strdup(v->string ? v->string : ""));
                break;
        default:
                g_assert_not_reached();
        }
        g_string_free(s, TRUE);
        return r;
}

char *lg_value_to_string(const LgValue *v) {
        g_autoptr(GPtrArray) items = lg_value_to_strv(v);
        g_ptr_array_add(items, NULL);
        return g_strjoinv(",", (char **) items->pdata);
}

int lg_addr_compare_start(const LgAddr *a, const LgAddr *b) {
        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        return memcmp(a->start, b->start, 16);
}

bool lg_addr_prefix_len(const LgAddr *a, int *ret) {
        int nbytes = family_bytes(a->family);
        int plen = 0;
        int i = 0;
        /* Leading bits where start == end, then all remaining bits must be 0 in start and 1 in end. */
        for (; i < nbytes && a->start[i] == a->end[i]; i++)
                plen += 8;
        if (i < nbytes) {
                uint8_t diff = a->start[i] ^ a->end[i];
                int common = 0;
                while (common < 8 && !(diff & (0x80 >> common)))
                        common++;
                uint8_t host = (uint8_t) (0xff >> common);
                if ((a->start[i] & host) != 0 || (a->end[i] & host) != host)
                        return false;
                plen += common;
                for (i++; i < nbytes; i++)
                        if (a->start[i] != 0 || a->end[i] != 0xff)
                                return false;
        }
        *ret = plen;
        return true;
}
