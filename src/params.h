/* Typed parameter values (DESIGN.md §2): every value from a policy file, the command line or a
 * D-Bus caller is parsed here into a typed form and printed back canonically by the compiler,
 * so no caller-supplied text ever reaches nftables syntax. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* Limits enforced at parse time; see docs/limits.md. */
#define LG_MAX_LIST_ITEMS   2000000u  /* items in one list value */
#define LG_MAX_PARAM_ITEMS  2000000u  /* items in all the parameters of one Enable, together */
#define LG_MAX_STRING_LEN   256u      /* a `string` parameter */
#define LG_IFNAMSIZ         16        /* IFNAMSIZ, including the terminating NUL */

typedef enum {
        LG_TYPE_INTERFACE,
        LG_TYPE_INTERFACES,
        LG_TYPE_ADDRESSES,
        LG_TYPE_ENDPOINTS,
        LG_TYPE_PORTS,
        LG_TYPE_BOOL,
        LG_TYPE_USER,
        LG_TYPE_STRING,
        _LG_TYPE_MAX,
        _LG_TYPE_INVALID = -1,
} LgType;

const char *lg_type_to_string(LgType t);
LgType lg_type_from_string(const char *s);
bool lg_type_is_list(LgType t);

/* An address, a prefix or a range, always stored as the inclusive range [start, end]. */
typedef struct {
        uint8_t family;    /* 4 or 6 */
        uint8_t start[16]; /* network byte order; IPv4 uses the first 4 bytes */
        uint8_t end[16];
} LgAddr;

/* ADDRESS[:PORT][/udp|/tcp]: a missing port or protocol means any. */
typedef struct {
        LgAddr addr;
        int proto; /* IPPROTO_TCP, IPPROTO_UDP, or -1 for any */
        int port;  /* 1..65535, or -1 for any */
} LgEndpoint;

typedef struct {
        uint16_t lo, hi;
} LgPortRange;

typedef struct {
        LgType type;
        GPtrArray *names;     /* interface, interfaces: char* (may end in '*') */
        GArray *addrs;        /* addresses: LgAddr */
        GArray *endpoints;    /* endpoints: LgEndpoint */
        GArray *ports;        /* ports: LgPortRange */
        bool boolean;         /* bool */
        uint32_t uid;         /* user */
        char *string;         /* string */
        char **canonical;     /* memo of lg_value_canonical(): one block, freed with g_free() */
} LgValue;

LgValue *lg_value_new(LgType type);
void lg_value_free(LgValue *v);
LgValue *lg_value_copy(const LgValue *v);
bool lg_value_equal(const LgValue *a, const LgValue *b);
/* Number of items: list length, 1 for scalars. */
guint lg_value_count(const LgValue *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LgValue, lg_value_free)

/* Parsers of one item each; `what` names the item in error messages. */
bool lg_parse_interface(const char *s, bool allow_wildcard, char **ret, GError **error);
bool lg_parse_addr(const char *s, LgAddr *ret, GError **error);
bool lg_parse_endpoint(const char *s, LgEndpoint *ret, GError **error);
bool lg_parse_port_range(const char *s, LgPortRange *ret, GError **error);
bool lg_parse_bool(const char *s, bool *ret, GError **error);
bool lg_parse_user(const char *s, uint32_t *ret, GError **error);
bool lg_parse_group(const char *s, uint32_t *ret, GError **error);
bool lg_parse_uint64(const char *s, uint64_t max, uint64_t *ret);
bool lg_parse_string(const char *s, char **ret, GError **error);

/* Appends one textual item to a value of the given type (for list types) or sets it (scalars). */
bool lg_value_add_item(LgValue *v, const char *item, GError **error);

/* `key=value` text from the command line: list types split on ',' and whitespace. */
LgValue *lg_value_parse_text(LgType type, const char *text, GError **error);
/* The text of a `key=VALUE` argument: VALUE itself, or the contents of FILE for `@FILE` (a list
 * of 100,000 prefixes does not fit on a command line). */
char *lg_value_arg_text(const char *arg, GError **error);
/* One string per item, as D-Bus `as` delivers them. */
LgValue *lg_value_parse_strv(LgType type, const char *const *items, size_t n, GError **error);

/* Canonical text: what the compiler prints and what Status reports. */
void lg_addr_format(const LgAddr *a, GString *out);
void lg_endpoint_format(const LgEndpoint *e, GString *out);
char *lg_value_to_string(const LgValue *v);
/* Each item on its own, canonical (for Status and the state file). */
GPtrArray *lg_value_to_strv(const LgValue *v);
/* The same as a NULL-terminated array, made once per value: a saved state or a Status reply with a
 * 100,000-prefix parameter does not print it again for every change of another parameter. */
const char *const *lg_value_canonical(const LgValue *v);

/* Address helpers used by the compiler. */
int lg_addr_compare_start(const LgAddr *a, const LgAddr *b);
bool lg_addr_prefix_len(const LgAddr *a, int *ret); /* true if [start,end] is exactly a prefix */
