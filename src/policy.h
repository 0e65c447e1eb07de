/* YAML policy files (DESIGN.md §2) → the validated policy model. Nothing here knows nftables:
 * the model is what an admin wrote, with every value typed and every reference checked. */
#pragma once

#include "params.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define LG_MAX_POLICY_FILE_SIZE (4 * 1024 * 1024) /* bytes: room for 20,000 one-line filters */
#define LG_MAX_NAME_LEN 40                   /* policy, sublayer, filter, parameter names */
#define LG_MAX_FILTERS 20000                 /* filters in one policy */
#define LG_MAX_POLICY_FILES 256              /* policy files loaded, all directories together */

typedef enum {
        LG_LAYER_CONNECT,
        LG_LAYER_ACCEPT,
        LG_LAYER_OUTBOUND,
        LG_LAYER_INBOUND,
        LG_LAYER_FORWARD,
        _LG_LAYER_MAX,
} LgLayer;

const char *lg_layer_to_string(LgLayer l);
/* Inbound layers see the peer as the packet's source and the interface as the input one. */
bool lg_layer_is_inbound(LgLayer l);

typedef enum {
        LG_ACTION_PERMIT,
        LG_ACTION_HARD_PERMIT,
        LG_ACTION_BLOCK,
} LgAction;

const char *lg_action_to_string(LgAction a);

typedef enum {
        LG_LIFETIME_PERSISTENT,
        LG_LIFETIME_DYNAMIC,
} LgLifetime;

typedef enum {
        LG_COND_INTERFACE,
        LG_COND_FAMILY,
        LG_COND_PROTOCOL,
        LG_COND_REMOTE,
        LG_COND_LOCAL,
        LG_COND_REMOTE_PORT,
        LG_COND_LOCAL_PORT,
        LG_COND_USER,
        LG_COND_GROUP,
        LG_COND_CGROUP,
        LG_COND_MARK,
        LG_COND_ICMP_TYPE,
        _LG_COND_MAX,
} LgCondKey;

const char *lg_cond_to_string(LgCondKey k);
const char *lg_protocol_name(uint8_t proto);              /* NULL if it has no name */
const char *lg_icmp_type_name(int family, uint8_t type);  /* NULL if it has no name */
bool lg_cgroup_path_valid(const char *s);

/* One condition of a filter's `match`. Its items are ORed: literal items plus the values of the
 * referenced parameters. */
typedef struct {
        LgCondKey key;
        bool negated;
        int line, column;
        GPtrArray *params;  /* char*: referenced parameter names (without '$') */
        LgValue *literal;   /* interface: interfaces; remote/local: endpoints (an address is an
                             * endpoint with any protocol and port); *_port: ports; cgroup: string */
        GArray *numbers;    /* protocol, icmp_type: guint8; user, group: guint32 */
        uint32_t mark, mask; /* mark */
        int family;         /* family: 4 or 6 */
} LgCondition;

typedef struct {
        char *name;
        uint64_t weight;
        unsigned layers; /* bit (1 << LgLayer) */
        LgAction action;
        bool reject, log;
        char *when;      /* bool parameter that must be true, or NULL */
        bool when_negated; /* `when: !$param` */
        GPtrArray *conditions; /* LgCondition* */
        unsigned index;  /* position in the file, for ties */
} LgFilter;

typedef struct {
        char *name;
        uint16_t weight;
        GPtrArray *filters; /* LgFilter*, in file order */
        unsigned index;
} LgSublayer;

typedef struct {
        char *name;
        LgType type;
        char *description;
        LgValue *default_value; /* NULL: required */
        int line, column;
} LgParamDecl;

typedef struct {
        char *name;
        char *description;
        char *path; /* the file it came from */
        LgLifetime lifetime;
        GPtrArray *params;    /* LgParamDecl*, in file order */
        GPtrArray *sublayers; /* LgSublayer*, in file order */
} LgPolicy;

LgPolicy *lg_policy_load_file(const char *path, GError **error);
/* `filename` is used in error messages only. */
LgPolicy *lg_policy_load_data(const char *data, size_t len, const char *filename, GError **error);
void lg_policy_free(LgPolicy *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LgPolicy, lg_policy_free)

const LgParamDecl *lg_policy_find_param(const LgPolicy *p, const char *name);
/* The filter's condition on `key`, positive or inside `not:`, or NULL. */
const LgCondition *lg_filter_find_condition(const LgFilter *f, LgCondKey key, bool negated);
bool lg_policy_name_valid(const char *name);
bool lg_param_name_valid(const char *name); /* [a-z_][a-z0-9_]*, at most LG_MAX_NAME_LEN */
/* " (did you mean 'WORD'?)" for the closest of `known`, or "" when none is close. */
char *lg_suggest(const char *word, const char *const *known, size_t n);

/* Parameters given by a caller (name → LgValue*), checked against the policy's declarations:
 * unknown names, wrong types and missing required ones are InvalidParameters errors. Returns
 * the complete table with defaults filled in. */
GHashTable *lg_policy_bind_params(const LgPolicy *p, GHashTable *given, GError **error);
/* Parses `key=value` strings (the CLI) into a table suitable for lg_policy_bind_params(). */
GHashTable *lg_policy_parse_kv(const LgPolicy *p, const char *const *kv, size_t n, GError **error);
GHashTable *lg_params_table_new(void);
