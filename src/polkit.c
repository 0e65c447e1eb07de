#include "polkit.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>

typedef struct LgAuthRequest {
        sd_bus *bus;
        sd_bus_message *call;
        char *action;
        sd_bus_slot *slot;
        LgAuthCallback cb;
        void *userdata;
} LgAuthRequest;

/* Requests in flight, so that lg_auth_cancel_all() can end them: each holds the bus (and its
 * call holds it too), so one left behind at exit keeps the whole connection alive (a leak). */
static GHashTable *live;

static void request_free(LgAuthRequest *r) {
        if (live)
                g_hash_table_remove(live, r);
        sd_bus_slot_unref(r->slot);
        sd_bus_message_unref(r->call);
        sd_bus_unref(r->bus);
        g_free(r->action);
        g_free(r);
}

static void finish(LgAuthRequest *r, bool allowed, const char *why) {
        r->cb(r->call, allowed, why, r->userdata);
        request_free(r);
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        LgAuthRequest *r = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        if (e) {
                g_autofree char *why = g_strdup_printf("polkit could not decide (%s)", e->message ? e->message : e->name);
                finish(r, false, why);
                return 0;
        }
        int authorized = 0, challenge = 0;
        int k = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (k >= 0)
                k = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (k < 0) {
                finish(r, false, "polkit sent an unreadable answer");
                return 0;
        }
        finish(r, authorized, authorized ? NULL
                              : challenge ? "polkit requires authentication, and no agent provided it"
                                          : "polkit denied the action");
        return 0;
}

/* The time polkit has to answer. LEAKGUARD_POLKIT_TIMEOUT_MS shortens it for the tests of a polkit
 * that never answers (tests/kernel/test-daemon-abuse.sh); nothing else should set it. */
static uint64_t polkit_timeout_usec(void) {
        const char *env = g_getenv("LEAKGUARD_POLKIT_TIMEOUT_MS");
        guint64 ms;
        if (env && g_ascii_string_to_unsigned(env, 10, 1, 3600 * 1000, &ms, NULL))
                return ms * 1000;
        return LG_POLKIT_TIMEOUT_USEC;
}

static int ask_polkit(LgAuthRequest *r) {
        sd_bus_message *m = NULL;
        const char *sender = sd_bus_message_get_sender(r->call);
        int k = sd_bus_message_new_method_call(r->bus, &m, "org.freedesktop.PolicyKit1",
                                               "/org/freedesktop/PolicyKit1/Authority",
                                               "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (k < 0)
                return k;
        /* subject (sa{sv}), action_id s, details a{ss}, flags u (1: allow user interaction), cancellation_id s */
        k = sd_bus_message_append(m, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", sender, r->action, 0, 1,
                                  "");
        if (k >= 0)
                k = sd_bus_call_async(r->bus, &r->slot, m, on_polkit_reply, r, polkit_timeout_usec());
        sd_bus_message_unref(m);
        return k;
}

static int on_uid_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        LgAuthRequest *r = userdata;
        uint32_t uid;
        if (sd_bus_message_is_method_error(reply, NULL) || sd_bus_message_read(reply, "u", &uid) < 0) {
                /* Usually the caller left before we asked (NameHasNoOwner); say which. */
                const sd_bus_error *e = sd_bus_message_get_error(reply);
                g_autofree char *why = g_strdup_printf("cannot determine the caller's user (%s)",
                                                       e && e->name ? e->name : "unreadable answer");
                finish(r, false, why);
                return 0;
        }
        if (uid == 0) {
                finish(r, true, NULL);
                return 0;
        }
        r->slot = sd_bus_slot_unref(r->slot);
        int k = ask_polkit(r);
        if (k < 0) {
                g_autofree char *why = g_strdup_printf("cannot ask polkit: %s", g_strerror(-k));
                finish(r, false, why);
        }
        return 0;
}

int lg_auth_check_async(sd_bus *bus, sd_bus_message *call, const char *action, LgAuthCallback cb, void *userdata) {
        const char *sender = sd_bus_message_get_sender(call);
        if (!sender)
                return -EINVAL;
        LgAuthRequest *r = g_new0(LgAuthRequest, 1);
        if (!live)
                live = g_hash_table_new(NULL, NULL);
        g_hash_table_add(live, r);
        r->bus = sd_bus_ref(bus);
        r->call = sd_bus_message_ref(call);
        r->action = g_strdup(action);
        r->cb = cb;
        r->userdata = userdata;
        /* The bus driver knows the caller's uid; asking it asynchronously keeps the loop free. */
        sd_bus_message *m = NULL;
        int k = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                               "org.freedesktop.DBus", "GetConnectionUnixUser");
        if (k >= 0)
                k = sd_bus_message_append(m, "s", sender);
        /* The driver answers at once; a timeout here only means that our own queue is long (a
         * flood of calls): wait longer than sd-bus's default 25 s rather than deny root. */
        if (k >= 0)
                k = sd_bus_call_async(bus, &r->slot, m, on_uid_reply, r, LG_UID_LOOKUP_TIMEOUT_USEC);
        sd_bus_message_unref(m);
        if (k < 0) {
                request_free(r);
                return k;
        }
        return 0;
}

unsigned lg_auth_cancel_all(const char *why) {
        if (!live)
                return 0;
        /* finish() removes each from `live`: take them out first. */
        g_autofree gpointer *all = g_hash_table_get_keys_as_array(live, NULL);
        guint n = g_hash_table_size(live);
        for (guint i = 0; i < n; i++)
                finish(all[i], false, why);
        if (n > 0)
                g_message("%u calls waiting for authorization denied: %s", n, why);
        g_clear_pointer(&live, g_hash_table_unref);
        return n;
}
