#include "bus.h"
#include "error.h"
#include "explain.h"
#include "netlog.h"
#include "polkit.h"

#include <errno.h>
#include <string.h>

struct LgBus {
        sd_bus *bus;
        LgManager *m;
        sd_bus_slot *vtable_slot;
        sd_bus_slot *owner_match_slot;
        LgNetlog *netlog;     /* NULL when net events are off (see netlog_error) */
        char *netlog_error;
        /* "policy/sublayer/filter" → LgFilter* of the enabled `log: true` filters, valid for one
         * generation: a flood resolves each event with one lookup, whatever the policies' size. */
        GHashTable *log_filters;
        guint64 log_filters_generation;
        guint pending_auth;   /* privileged calls waiting for their authorization */
};

static const char *const error_names[] = {
        [LG_ERROR_NO_SUCH_POLICY] = LG_BUS_ERROR_PREFIX "NoSuchPolicy",
        [LG_ERROR_INVALID_PARAMETERS] = LG_BUS_ERROR_PREFIX "InvalidParameters",
        [LG_ERROR_INVALID_POLICY] = LG_BUS_ERROR_PREFIX "InvalidPolicy",
        [LG_ERROR_APPLY_FAILED] = LG_BUS_ERROR_PREFIX "ApplyFailed",
};

int lg_bus_error_from_gerror(sd_bus_error *ret_error, const GError *e) {
        const char *name = e->domain == LG_ERROR && e->code >= 0 && (size_t) e->code < G_N_ELEMENTS(error_names)
                                   ? error_names[e->code]
                                   : LG_BUS_ERROR_PREFIX "ApplyFailed";
        g_autofree char *text = lg_error_text(e->message, LG_BUS_MAX_ERROR_LEN);
        return sd_bus_error_set(ret_error, name, text);
}

static int reply_gerror(sd_bus_message *call, const GError *e) {
        sd_bus_error err = SD_BUS_ERROR_NULL;
        lg_bus_error_from_gerror(&err, e);
        int k = sd_bus_reply_method_error(call, &err);
        sd_bus_error_free(&err);
        return k;
}

/* ---- reading parameters from a{sv} ---- */

static bool signature_fits(LgType t, const char *sig) {
        switch (t) {
        case LG_TYPE_INTERFACE:
        case LG_TYPE_STRING:
                return g_str_equal(sig, "s");
        case LG_TYPE_INTERFACES:
        case LG_TYPE_ADDRESSES:
        case LG_TYPE_ENDPOINTS:
                return g_str_equal(sig, "as");
        case LG_TYPE_PORTS:
                return g_str_equal(sig, "as") || g_str_equal(sig, "aq");
        case LG_TYPE_BOOL:
                return g_str_equal(sig, "b");
        case LG_TYPE_USER:
                return g_str_equal(sig, "u") || g_str_equal(sig, "s");
        default:
                return false;
        }
}

static const char *expected_signature(LgType t) {
        switch (t) {
        case LG_TYPE_INTERFACE:
        case LG_TYPE_STRING:
                return "s";
        case LG_TYPE_PORTS:
                return "as or aq";
        case LG_TYPE_BOOL:
                return "b";
        case LG_TYPE_USER:
                return "u or s";
        default:
                return "as";
        }
}

static GError *param_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static GError *param_error(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        GError *e = g_error_new_valist(LG_ERROR, LG_ERROR_INVALID_PARAMETERS, fmt, ap);
        va_end(ap);
        return e;
}

/* Reads one variant whose signature already fits `d->type`. */
static LgValue *read_param_value(sd_bus_message *m, const LgParamDecl *d, const char *sig, GError **error) {
        int k;
        g_autoptr(GError) e = NULL;
        LgValue *v = NULL;
        if (g_str_equal(sig, "s")) {
                const char *s;
                k = sd_bus_message_read(m, "s", &s);
                if (k >= 0)
                        v = lg_value_parse_strv(d->type, &s, 1, &e);
        } else if (g_str_equal(sig, "as")) {
                /* One item at a time, not sd_bus_message_read_strv(): that is quadratic in the number
                 * of items (80,000 took 4 s, 2,000,000 would stall the daemon for most of an hour),
                 * and an item past LG_MAX_LIST_ITEMS stops the reading at once. Only list types
                 * fit "as" (signature_fits), so item by item is the same as lg_value_parse_strv(). */
                v = lg_value_new(d->type);
                k = sd_bus_message_enter_container(m, 'a', "s");
                const char *item;
                /* read_basic: sd_bus_message_read() parses its format string for every item. */
                while (k >= 0 && (k = sd_bus_message_read_basic(m, 's', &item)) > 0)
                        if (!lg_value_add_item(v, item, &e))
                                break;
                if (k >= 0 && !e)
                        k = sd_bus_message_exit_container(m);
        } else if (g_str_equal(sig, "aq")) {
                v = lg_value_new(LG_TYPE_PORTS);
                k = sd_bus_message_enter_container(m, 'a', "q");
                uint16_t q;
                while (k >= 0 && (k = sd_bus_message_read(m, "q", &q)) > 0) {
                        if (v->ports->len >= LG_MAX_LIST_ITEMS) {
                                e = param_error("more than %u items in one list", LG_MAX_LIST_ITEMS);
                                break;
                        }
                        LgPortRange r = {q, q};
                        g_array_append_val(v->ports, r);
                }
                if (k >= 0 && !e)
                        k = sd_bus_message_exit_container(m);
        } else if (g_str_equal(sig, "b")) {
                int b;
                k = sd_bus_message_read(m, "b", &b);
                v = lg_value_new(LG_TYPE_BOOL);
                v->boolean = b;
        } else { /* "u" */
                uint32_t u;
                k = sd_bus_message_read(m, "u", &u);
                v = lg_value_new(LG_TYPE_USER);
                v->uid = u;
        }
        if (k < 0 || e) {
                lg_value_free(v);
                if (e)
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "parameter '%s': %s", d->name,
                                    e->message);
                else
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "parameter '%s': unreadable value",
                                    d->name);
                return NULL;
        }
        return v;
}

GHashTable *lg_bus_read_params(sd_bus_message *m, const LgPolicy *p, GError **error) {
        g_autoptr(GHashTable) given = lg_params_table_new();
        int k = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (k >= 0 && (k = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents;
                char type;
                k = sd_bus_message_read(m, "s", &key);
                if (k < 0)
                        break;
                const LgParamDecl *d = lg_policy_find_param(p, key);
                if (!d) {
                        g_autoptr(GPtrArray) names = g_ptr_array_new();
                        for (guint i = 0; i < p->params->len; i++)
                                g_ptr_array_add(names, ((LgParamDecl *) p->params->pdata[i])->name);
                        g_autofree char *hint = lg_suggest(key, (const char *const *) names->pdata, names->len);
                        g_autofree char *esc = g_strescape(key, NULL);
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                    "policy '%s' has no parameter '%.60s'%s", p->name, esc, hint);
                        return NULL;
                }
                if (g_hash_table_contains(given, key)) {
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "parameter '%s' given twice", key);
                        return NULL;
                }
                k = sd_bus_message_peek_type(m, &type, &contents);
                if (k < 0)
                        break;
                if (!signature_fits(d->type, contents)) {
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                    "parameter '%s' is of type %s and must be sent as D-Bus %s, not %s", key,
                                    lg_type_to_string(d->type), expected_signature(d->type), contents);
                        return NULL;
                }
                k = sd_bus_message_enter_container(m, 'v', contents);
                if (k < 0)
                        break;
                LgValue *v = read_param_value(m, d, contents, error);
                if (!v)
                        return NULL;
                g_hash_table_insert(given, g_strdup(key), v);
                k = sd_bus_message_exit_container(m); /* v */
                if (k >= 0)
                        k = sd_bus_message_exit_container(m); /* e */
        }
        if (k >= 0)
                k = sd_bus_message_exit_container(m);
        if (k < 0) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "malformed parameters: %s", g_strerror(-k));
                return NULL;
        }
        return g_steal_pointer(&given);
}

/* ---- privileged methods: authorized first, then run ---- */

typedef int (*RunFn)(LgBus *b, sd_bus_message *call);

typedef struct {
        LgBus *b;
        RunFn run;
} Pending;

static void on_authorized(sd_bus_message *call, bool allowed, const char *why, void *userdata) {
        Pending *p = userdata;
        if (!allowed)
                sd_bus_reply_method_errorf(call, SD_BUS_ERROR_ACCESS_DENIED, "%s: %s",
                                           sd_bus_message_get_member(call), why);
        else
                p->run(p->b, call);
        p->b->pending_auth--;
        g_free(p);
}

static int authorize_then(LgBus *b, sd_bus_message *call, RunFn run, sd_bus_error *ret_error) {
        /* Each waiting call holds its message (up to the bus's 32 MiB): a polkit that stalls must
         * not let callers pile them up without bound (docs/limits.md). */
        if (b->pending_auth >= LG_MAX_PENDING_AUTH)
                return sd_bus_error_setf(ret_error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "%u calls are already waiting for authorization; try again later",
                                         b->pending_auth);
        Pending *p = g_new0(Pending, 1);
        p->b = b;
        p->run = run;
        int k = lg_auth_check_async(b->bus, call, LG_POLKIT_ACTION_MANAGE, on_authorized, p);
        if (k >= 0)
                b->pending_auth++;
        if (k < 0) {
                g_free(p);
                return sd_bus_error_setf(ret_error, SD_BUS_ERROR_ACCESS_DENIED, "cannot authorize the caller: %s",
                                         g_strerror(-k));
        }
        return 1; /* the reply comes later */
}

/* A dynamic policy lives as long as its client. The client may have left while its call waited
 * for polkit, and then its NameOwnerChanged came before the policy existed. The bus driver answers
 * GetNameOwner and sends NameOwnerChanged in order, so asking now closes that gap: either the name
 * is gone already (the answer is an error), or the signal is still to come. */
typedef struct {
        LgBus *b;
        char *owner;
} OwnerCheck;

static void owner_check_free(void *userdata) {
        OwnerCheck *c = userdata;
        g_free(c->owner);
        g_free(c);
}

static int on_owner_checked(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        OwnerCheck *c = userdata;
        if (sd_bus_message_is_method_error(reply, NULL))
                lg_manager_disable_owned_by(c->b->m, c->owner);
        return 0;
}

static void check_owner_present(LgBus *b, const char *owner) {
        if (!owner)
                return;
        OwnerCheck *c = g_new0(OwnerCheck, 1);
        c->b = b;
        c->owner = g_strdup(owner);
        sd_bus_slot *slot = NULL;
        int k = sd_bus_call_method_async(b->bus, &slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                         "org.freedesktop.DBus", "GetNameOwner", on_owner_checked, c, "s", owner);
        if (k < 0) {
                owner_check_free(c);
                return;
        }
        /* Owned by the bus from here; `c` goes with the slot, also when the bus closes first. */
        sd_bus_slot_set_destroy_callback(slot, owner_check_free);
        sd_bus_slot_set_floating(slot, 1);
        sd_bus_slot_unref(slot);
}

static int run_enable(LgBus *b, sd_bus_message *call) {
        const char *name;
        g_autoptr(GError) e = NULL;
        int k = sd_bus_message_read(call, "s", &name);
        if (k < 0)
                return sd_bus_reply_method_errorf(call, SD_BUS_ERROR_INVALID_ARGS, "cannot read the policy name");
        LgPolicy *p = lg_manager_find_policy(b->m, name, &e);
        if (!p)
                return reply_gerror(call, e);
        g_autoptr(GHashTable) given = lg_bus_read_params(call, p, &e);
        if (!given)
                return reply_gerror(call, e);
        guint64 gen;
        if (!lg_manager_enable(b->m, name, given, sd_bus_message_get_sender(call), &gen, &e))
                return reply_gerror(call, e);
        if (p->lifetime == LG_LIFETIME_DYNAMIC)
                check_owner_present(b, sd_bus_message_get_sender(call));
        return sd_bus_reply_method_return(call, "t", gen);
}

static int run_disable(LgBus *b, sd_bus_message *call) {
        const char *name;
        g_autoptr(GError) e = NULL;
        if (sd_bus_message_read(call, "s", &name) < 0)
                return sd_bus_reply_method_errorf(call, SD_BUS_ERROR_INVALID_ARGS, "cannot read the policy name");
        guint64 gen;
        if (!lg_manager_disable(b->m, name, &gen, &e))
                return reply_gerror(call, e);
        return sd_bus_reply_method_return(call, "t", gen);
}

static int run_reload(LgBus *b, sd_bus_message *call) {
        g_autoptr(GError) e = NULL;
        if (!lg_manager_reload(b->m, &e))
                return reply_gerror(call, e);
        return sd_bus_reply_method_return(call, "");
}

static int method_enable(sd_bus_message *call, void *userdata, sd_bus_error *ret_error) {
        return authorize_then(userdata, call, run_enable, ret_error);
}

static int method_disable(sd_bus_message *call, void *userdata, sd_bus_error *ret_error) {
        return authorize_then(userdata, call, run_disable, ret_error);
}

static int method_reload(sd_bus_message *call, void *userdata, sd_bus_error *ret_error) {
        return authorize_then(userdata, call, run_reload, ret_error);
}

/* ---- the compiled model: Explain and the per-layer view ---- */

/* The ruleset the enabled policies compile to, with its model: what the manager applied when that
 * was a compile (always, unless the kernel was read back after tampering or a failed restore),
 * else compiled here; `tmp` keeps such a compile alive for the caller. */
static const LgRuleset *model_ruleset(LgManager *m, LgRuleset **tmp, GError **error) {
        if (lg_ruleset_explainable(m->applied))
                return m->applied;
        g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);
        GHashTableIter it;
        gpointer v;
        g_hash_table_iter_init(&it, m->enabled);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                LgEnabled *en = g_new0(LgEnabled, 1);
                en->policy = ((LgEnabledPolicy *) v)->policy;
                en->params = ((LgEnabledPolicy *) v)->params;
                g_ptr_array_add(list, en);
        }
        *tmp = lg_compile(list, error);
        return *tmp;
}

static const char *key_signature(const char *key) {
        for (size_t i = 0; i < lg_packet_n_keys; i++)
                if (g_str_equal(lg_packet_keys[i].key, key))
                        return lg_packet_keys[i].signature;
        return NULL;
}

/* The a{sv} packet of Explain. Every key is checked; unknown keys and wrong types are errors, so
 * that a typo is not silently explained as some other packet. */
static bool read_packet(sd_bus_message *m, LgPacket *p, GError **error) {
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        int k = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (k >= 0 && (k = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents;
                char type;
                k = sd_bus_message_read(m, "s", &key);
                if (k < 0)
                        break;
                const char *want = key_signature(key);
                if (!want)
                        return lg_packet_set_string(p, key, "", error); /* names the unknown key */
                if (g_hash_table_contains(seen, key)) {
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "packet key '%s' given twice", key);
                        return false;
                }
                g_hash_table_add(seen, g_strdup(key));
                k = sd_bus_message_peek_type(m, &type, &contents);
                if (k < 0)
                        break;
                if (!g_str_equal(contents, want)) {
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                    "packet key '%s' must be sent as D-Bus %s, not %s", key, want, contents);
                        return false;
                }
                if (want[0] == 's') {
                        const char *s;
                        k = sd_bus_message_read(m, "v", "s", &s);
                        if (k >= 0 && !lg_packet_set_string(p, key, s, error))
                                return false;
                } else {
                        uint32_t u;
                        k = sd_bus_message_read(m, "v", "u", &u);
                        if (k >= 0 && !lg_packet_set_number(p, key, u, error))
                                return false;
                }
                if (k >= 0)
                        k = sd_bus_message_exit_container(m);
        }
        if (k >= 0)
                k = sd_bus_message_exit_container(m);
        if (k < 0) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "malformed packet description: %s",
                            g_strerror(-k));
                return false;
        }
        return lg_packet_finish(p, error);
}

static int method_explain(sd_bus_message *call, void *userdata, sd_bus_error *ret_error) {
        LgBus *b = userdata;
        g_autoptr(GError) e = NULL;
        LgPacket p;
        lg_packet_init(&p);
        bool ok = read_packet(call, &p, &e);
        g_autoptr(LgRuleset) tmp = NULL;
        const LgRuleset *rs = ok ? model_ruleset(b->m, &tmp, &e) : NULL;
        if (!rs) {
                lg_packet_clear(&p);
                return reply_gerror(call, e);
        }
        LgExplanation x;
        lg_explain(rs, &p, &x);
        lg_packet_clear(&p);
        return sd_bus_reply_method_return(call, "ssss", lg_verdict_to_string(x.verdict), x.policy ? x.policy : "",
                                          x.sublayer ? x.sublayer : "", x.filter ? x.filter : "");
}

/* The packet keys of Explain, as far as they are known: a Blocked packet can be explained as is. */
static int append_packet(sd_bus_message *r, const LgPacket *p) {
        g_autoptr(GString) proto = g_string_new(NULL);
        g_autoptr(GString) remote = g_string_new(NULL);
        g_autoptr(GString) local = g_string_new(NULL);
        lg_packet_format_protocol(p->proto, proto);
        lg_packet_format_endpoint(p->family, p->remote, p->remote_port, remote);
        lg_packet_format_endpoint(p->family, p->local, p->local_port, local);
        int k = sd_bus_message_open_container(r, 'a', "{sv}");
        if (k >= 0)
                k = sd_bus_message_append(r, "{sv}{sv}{sv}{sv}", "layer", "s", lg_layer_to_string(p->layer),
                                          "protocol", "s", proto->str, "remote", "s", remote->str, "local", "s",
                                          local->str);
        if (k >= 0 && p->interface[0])
                k = sd_bus_message_append(r, "{sv}", "interface", "s", p->interface);
        if (k >= 0 && p->has_uid)
                k = sd_bus_message_append(r, "{sv}", "uid", "u", p->uid);
        if (k >= 0 && p->has_gid)
                k = sd_bus_message_append(r, "{sv}", "gid", "u", p->gid);
        if (k >= 0)
                k = sd_bus_message_append(r, "{sv}", "mark", "u", p->mark);
        if (k >= 0 && p->icmp_type >= 0) {
                const char *name = lg_icmp_type_name(p->family, (uint8_t) p->icmp_type);
                g_autofree char *num = g_strdup_printf("%d", p->icmp_type);
                k = sd_bus_message_append(r, "{sv}", "icmp_type", "s", name ? name : num);
        }
        if (k >= 0)
                k = sd_bus_message_close_container(r);
        return k;
}

/* ---- net events: the Blocked signal ---- */

/* An event is ours when its prefix names a `log: true` block filter of an enabled policy; its
 * layer is the filter's layer on the hook that logged it. */
static bool resolve_event(LgNetEvent *ev, void *userdata) {
        LgBus *b = userdata;
        /* Policies and parameters change only in a transaction, and each one counts a generation. */
        if (!b->log_filters || b->log_filters_generation != b->m->generation) {
                if (b->log_filters)
                        g_hash_table_remove_all(b->log_filters);
                else
                        b->log_filters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
                b->log_filters_generation = b->m->generation;
                GHashTableIter it;
                gpointer v;
                g_hash_table_iter_init(&it, b->m->enabled);
                while (g_hash_table_iter_next(&it, NULL, &v)) {
                        const LgPolicy *p = ((LgEnabledPolicy *) v)->policy;
                        for (guint i = 0; i < p->sublayers->len; i++) {
                                const LgSublayer *sl = p->sublayers->pdata[i];
                                for (guint j = 0; j < sl->filters->len; j++) {
                                        LgFilter *f = sl->filters->pdata[j];
                                        if (f->log)
                                                g_hash_table_insert(b->log_filters,
                                                                    g_strdup_printf("%s/%s/%s", p->name, sl->name,
                                                                                    f->name),
                                                                    f);
                                }
                        }
                }
        }
        const LgFilter *f = g_hash_table_lookup(b->log_filters, ev->prefix);
        int layer = f ? lg_layer_for_hook(f, ev->hook) : -1;
        if (layer < 0)
                return false;
        ev->packet.layer = layer;
        return true;
}

static void emit_blocked(const LgNetEvent *ev, void *userdata) {
        LgBus *b = userdata;
        g_autoptr(sd_bus_message) s = NULL;
        int k = sd_bus_message_new_signal(b->bus, &s, LG_BUS_PATH, LG_BUS_INTERFACE, "Blocked");
        if (k >= 0)
                k = sd_bus_message_append(s, "sss", ev->policy, ev->sublayer, ev->filter);
        if (k >= 0)
                k = append_packet(s, &ev->packet);
        if (k >= 0)
                k = sd_bus_send(b->bus, s, NULL);
        if (k < 0)
                g_warning("cannot emit Blocked: %s", g_strerror(-k));
}

void lg_bus_set_netlog(LgBus *b, LgNetlog *n, const char *error_text) {
        b->netlog = n;
        g_free(b->netlog_error);
        b->netlog_error = g_strdup(error_text);
        if (n)
                lg_netlog_set_handlers(n, resolve_event, emit_blocked, b);
}

/* Opens the entry KEY of an a{sv} whose value is an array of CONTENTS ("{sv}", "a{sv}", "{ss}"…):
 * entry, variant and array, closed again by three sd_bus_message_close_container() calls. */
static int open_array_entry(sd_bus_message *r, const char *key, const char *contents) {
        g_autofree char *sig = g_strconcat("a", contents, NULL);
        int k = sd_bus_message_open_container(r, 'e', "sv");
        if (k >= 0)
                k = sd_bus_message_append(r, "s", key);
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'v', sig);
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'a', contents);
        return k;
}

static int append_net_events(sd_bus_message *r, LgBus *b) {
        LgNetlogStats st = {0};
        if (b->netlog)
                lg_netlog_get_stats(b->netlog, &st);
        int k = open_array_entry(r, "NetEvents", "{sv}");
        if (k >= 0)
                k = sd_bus_message_append(r, "{sv}{sv}{sv}{sv}{sv}{sv}{sv}{sv}", "Group", "q",
                                          (uint16_t) LG_LOG_GROUP, "Active", "b", b->netlog != NULL, "Received", "t",
                                          st.received, "Emitted", "t", st.emitted, "Suppressed", "t", st.suppressed,
                                          "Unmatched", "t", st.unmatched, "Overruns", "t", st.overruns, "Reports",
                                          "t", st.reports);
        if (k >= 0)
                k = sd_bus_message_append(r, "{sv}{sv}{sv}{sv}", "FilterRate", "d", LG_NETLOG_FILTER_RATE,
                                          "FilterBurst", "d", LG_NETLOG_FILTER_BURST, "GlobalRate", "d",
                                          LG_NETLOG_GLOBAL_RATE, "GlobalBurst", "d", LG_NETLOG_GLOBAL_BURST);
        if (k >= 0 && b->netlog_error)
                k = sd_bus_message_append(r, "{sv}", "Error", "s", b->netlog_error);
        for (int n = 0; n < 3 && k >= 0; n++)
                k = sd_bus_message_close_container(r);
        return k;
}

static const LgSublayer *find_sublayer(const LgManager *m, const char *policy, const char *name) {
        const LgEnabledPolicy *en = g_hash_table_lookup(m->enabled, policy);
        for (guint i = 0; en && i < en->policy->sublayers->len; i++) {
                const LgSublayer *sl = en->policy->sublayers->pdata[i];
                if (g_str_equal(sl->name, name))
                        return sl;
        }
        return NULL;
}

static int append_filter_view(sd_bus_message *r, const LgRule *rule, const LgCounter *c) {
        const LgFilter *f = rule->model;
        return sd_bus_message_append(r, "a{sv}", 7, "Name", "s", f->name, "Weight", "t", f->weight, "Action", "s",
                                     lg_action_to_string(f->action), "Reject", "b", f->reject, "Log", "b", f->log,
                                     "Packets", "t", c ? c->packets : 0, "Bytes", "t", c ? c->bytes : 0);
}

/* One sublayer chain: its filters in rule order (the IPv4 and IPv6 rules of a filter, and a
 * rejecting filter's tcp-reset twin, are one entry), with the counters of this chain's rules. */
static int append_sublayer_view(sd_bus_message *r, LgManager *m, const LgTable *t, const LgChain *c,
                                GHashTable *counters) {
        const LgRule *first = c->rules->len ? c->rules->pdata[0] : NULL;
        if (!first || !first->model)
                return 0;
        const LgSublayer *sl = find_sublayer(m, first->policy, first->sublayer);
        int k = sd_bus_message_open_container(r, 'a', "{sv}");
        if (k >= 0)
                k = sd_bus_message_append(r, "{sv}{sv}{sv}{sv}", "Policy", "s", first->policy, "Name", "s",
                                          first->sublayer, "Weight", "q", sl ? sl->weight : 0, "Table", "s", t->name);
        if (k >= 0)
                k = open_array_entry(r, "Filters", "a{sv}");
        for (guint i = 0; i < c->rules->len && k >= 0; i++) {
                const LgRule *rule = c->rules->pdata[i];
                if (i > 0 && ((const LgRule *) c->rules->pdata[i - 1])->model == rule->model)
                        continue;
                g_autofree char *key = g_strdup_printf("%s %s/%s/%s", c->name, rule->policy, rule->sublayer,
                                                       rule->filter);
                k = append_filter_view(r, rule, counters ? g_hash_table_lookup(counters, key) : NULL);
        }
        for (int n = 0; n < 4 && k >= 0; n++)
                k = sd_bus_message_close_container(r);
        return k;
}

/* Status "Layers": for each layer in use, its sublayers in evaluation order (persistent table,
 * then dynamic), each with its filters and the live counters of that layer's rules (`counters`:
 * per table, from lg_manager_counters()). Counters are per chain, so a filter on the outbound and
 * inbound layers shows each layer's own count. */
static int append_layers_view(sd_bus_message *r, LgBus *b, GHashTable *const counters[2]) {
        g_autoptr(GError) e = NULL;
        g_autoptr(LgRuleset) tmp = NULL;
        const LgRuleset *rs = model_ruleset(b->m, &tmp, &e);
        const LgTable *tables[2] = {rs ? rs->persistent : NULL, rs ? rs->dynamic : NULL};
        int k = open_array_entry(r, "Layers", "a{sv}");
        for (int layer = 0; layer < _LG_LAYER_MAX && k >= 0; layer++) {
                bool used = false;
                for (int t = 0; t < 2 && !used; t++)
                        for (guint i = 0; tables[t] && i < tables[t]->chains->len && !used; i++) {
                                const LgChain *c = tables[t]->chains->pdata[i];
                                used = !c->base && c->layer == layer;
                        }
                if (!used)
                        continue;
                k = sd_bus_message_open_container(r, 'a', "{sv}");
                if (k >= 0)
                        k = sd_bus_message_append(r, "{sv}", "Name", "s", lg_layer_to_string(layer));
                if (k >= 0)
                        k = open_array_entry(r, "Sublayers", "a{sv}");
                for (int t = 0; t < 2 && k >= 0; t++)
                        for (guint i = 0; tables[t] && i < tables[t]->chains->len && k >= 0; i++) {
                                const LgChain *c = tables[t]->chains->pdata[i];
                                if (!c->base && c->layer == layer)
                                        k = append_sublayer_view(r, b->m, tables[t], c, counters[t]);
                        }
                for (int n = 0; n < 4 && k >= 0; n++)
                        k = sd_bus_message_close_container(r);
        }
        for (int n = 0; n < 3 && k >= 0; n++)
                k = sd_bus_message_close_container(r);
        return k;
}

/* ---- Status and ListPolicies ---- */

static int append_param_value(sd_bus_message *r, const LgValue *v) {
        switch (v->type) {
        case LG_TYPE_BOOL:
                return sd_bus_message_append(r, "v", "b", v->boolean);
        case LG_TYPE_USER:
                return sd_bus_message_append(r, "v", "u", v->uid);
        case LG_TYPE_INTERFACE:
                return sd_bus_message_append(r, "v", "s", (const char *) v->names->pdata[0]);
        case LG_TYPE_STRING:
                return sd_bus_message_append(r, "v", "s", v->string ? v->string : "");
        default: {
                int k = sd_bus_message_open_container(r, 'v', "as");
                if (k >= 0)
                        k = sd_bus_message_append_strv(r, (char **) lg_value_canonical(v));
                if (k >= 0)
                        k = sd_bus_message_close_container(r);
                return k;
        }
        }
}

static int append_layers(sd_bus_message *r, unsigned layers) {
        int k = sd_bus_message_open_container(r, 'v', "as");
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'a', "s");
        for (int l = 0; l < _LG_LAYER_MAX && k >= 0; l++)
                if (layers & (1u << l))
                        k = sd_bus_message_append(r, "s", lg_layer_to_string(l));
        if (k >= 0)
                k = sd_bus_message_close_container(r);
        if (k >= 0)
                k = sd_bus_message_close_container(r);
        return k;
}

static int append_sublayers(sd_bus_message *r, const LgEnabledPolicy *en, GHashTable *counters) {
        const LgPolicy *p = en->policy;
        int k = sd_bus_message_open_container(r, 'v', "aa{sv}");
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'a', "a{sv}");
        for (guint i = 0; i < p->sublayers->len && k >= 0; i++) {
                const LgSublayer *sl = p->sublayers->pdata[i];
                k = sd_bus_message_open_container(r, 'a', "{sv}");
                if (k >= 0)
                        k = sd_bus_message_append(r, "{sv}{sv}", "Name", "s", sl->name, "Weight", "q", sl->weight);
                if (k >= 0)
                        k = open_array_entry(r, "Filters", "a{sv}");
                for (guint j = 0; j < sl->filters->len && k >= 0; j++) {
                        const LgFilter *f = sl->filters->pdata[j];
                        g_autofree char *comment = g_strdup_printf("%s/%s/%s", p->name, sl->name, f->name);
                        const LgCounter *c = counters ? g_hash_table_lookup(counters, comment) : NULL;
                        bool active = !f->when ||
                                      ((LgValue *) g_hash_table_lookup(en->params, f->when))->boolean != f->when_negated;
                        k = sd_bus_message_open_container(r, 'a', "{sv}");
                        if (k >= 0)
                                k = sd_bus_message_append(r, "{sv}{sv}{sv}{sv}{sv}{sv}", "Name", "s", f->name,
                                                          "Weight", "t", f->weight, "Action", "s",
                                                          lg_action_to_string(f->action), "Active", "b", active,
                                                          "Packets", "t", c ? c->packets : 0, "Bytes", "t",
                                                          c ? c->bytes : 0);
                        if (k >= 0)
                                k = sd_bus_message_open_container(r, 'e', "sv");
                        if (k >= 0)
                                k = sd_bus_message_append(r, "s", "Layers");
                        if (k >= 0)
                                k = append_layers(r, f->layers);
                        if (k >= 0)
                                k = sd_bus_message_close_container(r);
                        if (k >= 0)
                                k = sd_bus_message_close_container(r);
                }
                for (int n = 0; n < 4 && k >= 0; n++)
                        k = sd_bus_message_close_container(r);
        }
        if (k >= 0)
                k = sd_bus_message_close_container(r);
        if (k >= 0)
                k = sd_bus_message_close_container(r);
        return k;
}

static int append_policy_status(sd_bus_message *r, LgManager *m, const char *name, GHashTable *counters) {
        const LgPolicy *p = g_hash_table_lookup(m->policies, name);
        const LgEnabledPolicy *en = g_hash_table_lookup(m->enabled, name);
        int k = open_array_entry(r, name, "{sv}");
        if (k >= 0)
                k = sd_bus_message_append(r, "{sv}{sv}{sv}", "Enabled", "b", en != NULL, "Description", "s",
                                          p->description ? p->description : "", "Lifetime", "s",
                                          p->lifetime == LG_LIFETIME_DYNAMIC ? "dynamic" : "persistent");
        /* The declared types, so that clients (leakguardctl, GUIs) can send each parameter as the
         * D-Bus type it needs and render a form for a policy that is not enabled yet. */
        if (k >= 0)
                k = open_array_entry(r, "ParameterTypes", "{ss}");
        for (guint i = 0; i < p->params->len && k >= 0; i++) {
                const LgParamDecl *d = p->params->pdata[i];
                k = sd_bus_message_append(r, "{ss}", d->name, lg_type_to_string(d->type));
        }
        for (int n = 0; n < 3 && k >= 0; n++)
                k = sd_bus_message_close_container(r);
        if (en && k >= 0) {
                if (en->owner)
                        k = sd_bus_message_append(r, "{sv}", "Owner", "s", en->owner);
                if (k >= 0)
                        k = open_array_entry(r, "Parameters", "{sv}");
                for (guint i = 0; i < en->policy->params->len && k >= 0; i++) {
                        const LgParamDecl *d = en->policy->params->pdata[i];
                        k = sd_bus_message_open_container(r, 'e', "sv");
                        if (k >= 0)
                                k = sd_bus_message_append(r, "s", d->name);
                        if (k >= 0)
                                k = append_param_value(r, g_hash_table_lookup(en->params, d->name));
                        if (k >= 0)
                                k = sd_bus_message_close_container(r);
                }
                for (int n = 0; n < 3 && k >= 0; n++)
                        k = sd_bus_message_close_container(r);
                if (k >= 0)
                        k = sd_bus_message_open_container(r, 'e', "sv");
                if (k >= 0)
                        k = sd_bus_message_append(r, "s", "Sublayers");
                if (k >= 0)
                        k = append_sublayers(r, en, counters);
                if (k >= 0)
                        k = sd_bus_message_close_container(r);
        }
        for (int n = 0; n < 3 && k >= 0; n++)
                k = sd_bus_message_close_container(r);
        return k;
}

static int method_status(sd_bus_message *call, void *userdata, sd_bus_error *ret_error) {
        LgBus *b = userdata;
        LgManager *m = b->m;
        g_autoptr(GError) e = NULL;
        GHashTable *chain_counters[2] = {NULL, NULL};
        g_autoptr(GHashTable) counters = lg_manager_counters(m, chain_counters, &e);
        g_autoptr(sd_bus_message) r = NULL;
        int k = sd_bus_message_new_method_return(call, &r);
        if (k < 0)
                return k;
        k = sd_bus_message_open_container(r, 'a', "{sv}");
        if (k >= 0)
                k = sd_bus_message_append(r, "{sv}{sv}{sv}", "State", "s", lg_run_state_to_string(m->state),
                                          "Generation", "t", m->generation, "Version", "s", LEAKGUARD_VERSION);
        if (k >= 0 && (m->reason || e)) {
                g_autofree char *reason = lg_error_text(m->reason ? m->reason : e->message, LG_BUS_MAX_ERROR_LEN);
                k = sd_bus_message_append(r, "{sv}", "Reason", "s", reason);
        }
        if (k >= 0)
                k = append_net_events(r, b);
        if (k >= 0)
                k = append_layers_view(r, b, chain_counters);
        for (int t = 0; t < 2; t++)
                if (chain_counters[t])
                        g_hash_table_unref(chain_counters[t]);
        if (k >= 0)
                k = open_array_entry(r, "Policies", "{sv}");
        g_autoptr(GPtrArray) names = lg_manager_policy_names(m);
        for (guint i = 0; i < names->len && k >= 0; i++)
                k = append_policy_status(r, m, names->pdata[i], counters);
        for (int n = 0; n < 4 && k >= 0; n++)
                k = sd_bus_message_close_container(r);
        if (k < 0)
                return k;
        return sd_bus_send(NULL, r, NULL);
}

static int method_list_policies(sd_bus_message *call, void *userdata, sd_bus_error *ret_error) {
        LgBus *b = userdata;
        g_autoptr(sd_bus_message) r = NULL;
        int k = sd_bus_message_new_method_return(call, &r);
        if (k >= 0)
                k = sd_bus_message_open_container(r, 'a', "(ssb)");
        g_autoptr(GPtrArray) names = lg_manager_policy_names(b->m);
        for (guint i = 0; i < names->len && k >= 0; i++) {
                const LgPolicy *p = g_hash_table_lookup(b->m->policies, names->pdata[i]);
                k = sd_bus_message_append(r, "(ssb)", p->name, p->description ? p->description : "",
                                          g_hash_table_contains(b->m->enabled, p->name));
        }
        if (k >= 0)
                k = sd_bus_message_close_container(r);
        if (k < 0)
                return k;
        return sd_bus_send(NULL, r, NULL);
}

/* ---- properties ---- */

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        LgBus *b = userdata;
        if (g_str_equal(property, "State"))
                return sd_bus_message_append(reply, "s", lg_run_state_to_string(b->m->state));
        if (g_str_equal(property, "Generation"))
                return sd_bus_message_append(reply, "t", b->m->generation);
        if (g_str_equal(property, "Version"))
                return sd_bus_message_append(reply, "s", LEAKGUARD_VERSION);
        /* EnabledPolicies */
        g_autoptr(GPtrArray) enabled = lg_manager_enabled_sorted(b->m);
        int k = sd_bus_message_open_container(reply, 'a', "s");
        for (guint i = 0; i < enabled->len && k >= 0; i++)
                k = sd_bus_message_append(reply, "s", ((LgEnabledPolicy *) enabled->pdata[i])->policy->name);
        if (k >= 0)
                k = sd_bus_message_close_container(reply);
        return k;
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Enable", SD_BUS_ARGS("s", policy, "a{sv}", parameters), SD_BUS_RESULT("t", generation),
                                method_enable, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Disable", SD_BUS_ARGS("s", policy), SD_BUS_RESULT("t", generation), method_disable,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Status", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{sv}", status), method_status,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListPolicies", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssb)", policies),
                                method_list_policies, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Explain", SD_BUS_ARGS("a{sv}", packet),
                                SD_BUS_RESULT("s", verdict, "s", policy, "s", sublayer, "s", filter), method_explain,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("Blocked", SD_BUS_ARGS("s", policy, "s", sublayer, "s", filter, "a{sv}", packet), 0),
        SD_BUS_PROPERTY("EnabledPolicies", "as", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Generation", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Version", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

static void on_manager_changed(LgManager *m, void *userdata) {
        LgBus *b = userdata;
        sd_bus_emit_properties_changed(b->bus, LG_BUS_PATH, LG_BUS_INTERFACE, "EnabledPolicies", "State", "Generation",
                                       NULL);
}

/* A client that enabled dynamic policies left the bus: its session ends, as in WFP. */
static int on_name_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        LgBus *b = userdata;
        const char *name, *old_owner, *new_owner;
        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (name[0] == ':' && new_owner[0] == '\0')
                lg_manager_disable_owned_by(b->m, name);
        return 0;
}

int lg_bus_new(sd_bus *bus, LgManager *m, LgBus **ret) {
        LgBus *b = g_new0(LgBus, 1);
        b->bus = sd_bus_ref(bus);
        b->m = m;
        int k = sd_bus_add_object_vtable(bus, &b->vtable_slot, LG_BUS_PATH, LG_BUS_INTERFACE, manager_vtable, b);
        if (k >= 0)
                k = sd_bus_match_signal(bus, &b->owner_match_slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                        "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, b);
        if (k >= 0)
                k = sd_bus_request_name(bus, LG_BUS_NAME, 0);
        if (k < 0) {
                lg_bus_free(b);
                return k;
        }
        m->changed = on_manager_changed;
        m->changed_userdata = b;
        *ret = b;
        return 0;
}

void lg_bus_free(LgBus *b) {
        if (!b)
                return;
        if (b->m->changed_userdata == b)
                b->m->changed = NULL;
        sd_bus_slot_unref(b->vtable_slot);
        sd_bus_slot_unref(b->owner_match_slot);
        if (b->netlog)
                lg_netlog_set_handlers(b->netlog, NULL, NULL, NULL);
        g_free(b->netlog_error);
        if (b->log_filters)
                g_hash_table_unref(b->log_filters);
        sd_bus_unref(b->bus);
        g_free(b);
}
