/* leakguardd: main, event loop, signals, readiness. Persistent policies are re-applied before
 * READY=1, so that with Before=network-pre.target no packet leaves before protection is in force. */
#include "bus.h"
#include "polkit.h"
#include "manager.h"
#include "netlog.h"
#include "watch.h"

#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_event, sd_event_unref)

static int on_exit_deny_waiting(sd_event_source *s, void *userdata) {
        sd_bus *bus = userdata;
        /* A round trip to the bus driver after the denials: the bus handles our messages in order,
         * so when the answer comes it has delivered them. Without it, dbus-daemon may see the
         * connection close first and tell the callers NoReply instead. */
        if (lg_auth_cancel_all("leakguardd is stopping") > 0)
                sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                   "GetId", NULL, NULL, "");
        return 0;
}

/* malloc_trim() after small changes (LgManager.trim_pending), once the daemon has been without
 * changes for TRIM_DELAY: after the replies, and once per burst (a GUI's Enable calls come several
 * in a row), not in the path of each. Without any trim, idle RSS grew from 7.7 to 9.2 MB over
 * twenty Disable+Enable of a policy. */
#define TRIM_DELAY (500 * 1000ULL)

typedef struct {
        LgManager *m;
        sd_event_source *timer;
} Trim;

static int on_trim(sd_event_source *s, uint64_t usec, void *userdata) {
        malloc_trim(0);
        return 0;
}

static int on_post_trim(sd_event_source *s, void *userdata) {
        Trim *t = userdata;
        if (!t->m->trim_pending)
                return 0;
        t->m->trim_pending = false;
        if (sd_event_source_set_time_relative(t->timer, TRIM_DELAY) >= 0)
                sd_event_source_set_enabled(t->timer, SD_EVENT_ONESHOT);
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        LgManager *m = userdata;
        g_autoptr(GError) e = NULL;
        sd_notify(0, "RELOADING=1");
        if (!lg_manager_reload(m, &e))
                g_warning("%s", e->message);
        else
                g_message("policies reloaded");
        sd_notify(0, "READY=1");
        return 0;
}

static void usage(FILE *f) {
        fprintf(f, "usage: leakguardd [--policy-dir DIR]… [--state-dir DIR] [--no-tamper-guard]\n"
                   "  --policy-dir DIR  where policy files are read, first wins (repeatable;\n"
                   "                    default /etc/leakguard/policies.d then " LEAKGUARD_POLICY_DIR ")\n"
                   "  --state-dir DIR   where the enabled policies are saved (default $STATE_DIRECTORY\n"
                   "                    or /var/lib/leakguard)\n"
                   "  --no-tamper-guard do not keep the owner-flagged copy of the persistent table\n"
                   "                    (table inet leakguard_guard) that no other process can flush\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                {"policy-dir", required_argument, NULL, 'p'},
                {"state-dir", required_argument, NULL, 's'},
                {"no-tamper-guard", no_argument, NULL, 'G'},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {},
        };
        g_autoptr(GPtrArray) dirs = g_ptr_array_new();
        const char *state_dir = NULL;
        bool tamper_guard = true;
        int c;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'p':
                        g_ptr_array_add(dirs, optarg);
                        break;
                case 's':
                        state_dir = optarg;
                        break;
                case 'G':
                        tamper_guard = false;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'V':
                        printf("leakguardd %s\n", LEAKGUARD_VERSION);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                usage(stderr);
                return 2;
        }
        if (dirs->len == 0) {
                g_ptr_array_add(dirs, "/etc/leakguard/policies.d");
                g_ptr_array_add(dirs, LEAKGUARD_POLICY_DIR);
        }
        g_ptr_array_add(dirs, NULL);
        if (!state_dir) {
                /* systemd may pass several, colon-separated; ours is the first. */
                const char *env = g_getenv("STATE_DIRECTORY");
                state_dir = env && *env ? env : "/var/lib/leakguard";
        }
        g_autofree char *state_dir_own = g_strndup(state_dir, strcspn(state_dir, ":"));

        g_autoptr(GError) e = NULL;
        g_autoptr(LgManager) m = lg_manager_new((const char *const *) dirs->pdata, state_dir_own, &e);
        if (!m) {
                fprintf(stderr, "leakguardd: %s\n", e->message);
                return 1;
        }
        m->tamper_guard = tamper_guard;
        lg_manager_load_policies(m);
        lg_manager_restore(m);

        g_autoptr(sd_event) event = NULL;
        int k = sd_event_default(&event);
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        if (k >= 0 && sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                k = -errno;
        /* SIGTERM and SIGINT end the loop; persistent policies stay in the kernel (fail closed). */
        if (k >= 0)
                k = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (k >= 0)
                k = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (k >= 0)
                k = sd_event_add_signal(event, NULL, SIGHUP, on_sighup, m);
        if (k < 0) {
                fprintf(stderr, "leakguardd: cannot set up the event loop: %s\n", g_strerror(-k));
                return 1;
        }

        g_autoptr(sd_bus) bus = NULL;
        k = sd_bus_open_system(&bus);
        if (k >= 0)
                k = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        LgBus *b = NULL;
        if (k >= 0)
                k = lg_bus_new(bus, m, &b);
        if (k < 0) {
                fprintf(stderr, "leakguardd: cannot publish %s on the system bus: %s\n", LG_BUS_NAME,
                        g_strerror(-k));
                return 1;
        }
        /* Foreign changes to our tables are repaired from now on (and one since the restore above
         * is found by the watcher's first check). */
        LgWatch *watch = NULL;
        k = lg_watch_new(event, m, &watch);
        if (k < 0) {
                fprintf(stderr, "leakguardd: cannot watch nftables events: %s\n", g_strerror(-k));
                lg_bus_free(b);
                return 1;
        }
        /* Net events of `log: true` filters: a group another program holds costs only the Blocked
         * signal (Status says why), never the protection. */
        LgNetlog *netlog = NULL;
        g_autofree char *netlog_error = NULL;
        if (lg_netlog_new(event, LG_LOG_GROUP, &netlog, &netlog_error) < 0)
                g_warning("net events off: %s", netlog_error);
        lg_bus_set_netlog(b, netlog, netlog_error);
        g_autofree char *status = g_strdup_printf("READY=1\nSTATUS=%s, %u policies enabled",
                                                  lg_run_state_to_string(m->state), g_hash_table_size(m->enabled));
        sd_notify(0, status);
        g_message("ready: %s", status + 15);

        Trim trim = {.m = m};
        sd_event_source *trim_post = NULL;
        if (sd_event_add_time_relative(event, &trim.timer, CLOCK_MONOTONIC, TRIM_DELAY, 0, on_trim, NULL) >= 0 &&
            sd_event_source_set_enabled(trim.timer, SD_EVENT_OFF) >= 0)
                (void) sd_event_add_post(event, &trim_post, on_post_trim, &trim);

        /* On SIGTERM, callers still waiting for polkit get AccessDenied instead of no reply at all:
         * this exit source runs before sd-bus's own (NORMAL priority), which flushes and closes. */
        sd_event_source *deny_waiting = NULL;
        if (sd_event_add_exit(event, &deny_waiting, on_exit_deny_waiting, bus) >= 0)
                sd_event_source_set_priority(deny_waiting, SD_EVENT_PRIORITY_IMPORTANT);

        k = sd_event_loop(event);
        sd_notify(0, "STOPPING=1");
        /* Whatever is still in flight now can no longer be answered, but must not keep the bus. */
        lg_auth_cancel_all("leakguardd is stopping");
        sd_event_source_unref(deny_waiting);
        sd_event_source_unref(trim_post);
        sd_event_source_unref(trim.timer);
        lg_watch_free(watch);
        lg_bus_free(b);
        lg_netlog_free(netlog);
        if (k < 0) {
                fprintf(stderr, "leakguardd: event loop failed: %s\n", g_strerror(-k));
                return 1;
        }
        return 0;
}
