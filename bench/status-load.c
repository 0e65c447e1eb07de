/* Status at a fixed offered rate, for bench/run.sh: asynchronous sd-bus calls sent on a timer, so
 * the rate does not depend on the latency (a blocking client cannot offer more than 1/latency, and
 * python-dbus spends more time turning a reply into objects than the daemon spends making it).
 *
 *   lg-status-load RATE SECONDS PID
 *
 * prints: p50 p99 max (ms), replies, offered calls/s, the daemon's VmRSS (KiB) before and at its
 * peak. Any error reply fails the run. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <time.h>

typedef struct {
        sd_bus *bus;
        sd_event *event;
        double rate, seconds;
        uint64_t start, sent, replied, errors;
        GArray *latencies; /* double, ms */
        int pid;
        long rss_peak;
} Load;

static Load *load; /* the one run: reply callbacks carry their send time as userdata */

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static long rss_kib(int pid) {
        g_autofree char *path = g_strdup_printf("/proc/%d/status", pid), *text = NULL;
        if (!g_file_get_contents(path, &text, NULL, NULL))
                return -1;
        const char *p = strstr(text, "VmRSS:");
        return p ? strtol(p + 6, NULL, 10) : -1;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Load *l = load;
        uint64_t sent_at = (uint64_t) (uintptr_t) userdata;
        double ms = (double) (now_usec() - sent_at) / 1000.0;
        if (sd_bus_message_is_method_error(m, NULL)) {
                fprintf(stderr, "Status failed: %s\n", sd_bus_message_get_error(m)->message);
                l->errors++;
        } else
                g_array_append_val(l->latencies, ms);
        l->replied++;
        if (l->sent > 0 && l->replied == l->sent && (double) (now_usec() - l->start) >= l->seconds * 1e6)
                sd_event_exit(l->event, 0);
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Load *l = userdata;
        uint64_t now = now_usec();
        double elapsed = (double) (now - l->start) / 1e6;
        if (elapsed >= l->seconds) {
                if (l->replied == l->sent)
                        sd_event_exit(l->event, 0);
                return 0;
        }
        uint64_t due = (uint64_t) (elapsed * l->rate) + 1;
        while (l->sent < due) {
                int r = sd_bus_call_method_async(l->bus, NULL, "org.leakguard.LeakGuard1", "/org/leakguard/LeakGuard1",
                                                 "org.leakguard.LeakGuard1.Manager", "Status", on_reply,
                                                 (void *) (uintptr_t) now_usec(), "");
                if (r < 0) {
                        fprintf(stderr, "cannot send Status: %s\n", g_strerror(-r));
                        sd_event_exit(l->event, 1);
                        return 0;
                }
                l->sent++;
                if (l->sent % 100 == 0) {
                        long rss = rss_kib(l->pid);
                        if (rss > l->rss_peak)
                                l->rss_peak = rss;
                }
        }
        /* Next tick at the next call's due time. */
        uint64_t next = l->start + (uint64_t) ((double) l->sent / l->rate * 1e6);
        sd_event_source_set_time(s, next > now ? next : now + 100);
        return 0;
}

static int compare_double(gconstpointer a, gconstpointer b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
        if (argc != 4) {
                fprintf(stderr, "usage: %s RATE SECONDS PID\n", argv[0]);
                return 2;
        }
        Load l = {.rate = atof(argv[1]), .seconds = atof(argv[2]), .pid = atoi(argv[3])};
        l.latencies = g_array_new(FALSE, FALSE, sizeof(double));
        int r = sd_bus_open_system(&l.bus);
        if (r >= 0)
                r = sd_event_default(&l.event);
        if (r >= 0)
                r = sd_bus_attach_event(l.bus, l.event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                fprintf(stderr, "cannot connect to the system bus: %s\n", g_strerror(-r));
                return 1;
        }
        load = &l;
        long before = rss_kib(l.pid);
        l.rss_peak = before;
        l.start = now_usec();
        sd_event_source *tick = NULL;
        /* Accuracy 1 µs: the default (0) lets sd-event delay a timer by up to 250 ms to coalesce wakeups. */
        r = sd_event_add_time(l.event, &tick, CLOCK_MONOTONIC, l.start, 1, on_tick, &l);
        if (r >= 0)
                r = sd_event_source_set_enabled(tick, SD_EVENT_ON);
        if (r >= 0)
                r = sd_event_loop(l.event);
        if (r != 0 || l.errors || l.latencies->len == 0) {
                fprintf(stderr, "run failed: %d, %" G_GUINT64_FORMAT " errors\n", r, l.errors);
                return 1;
        }
        g_array_sort(l.latencies, compare_double);
        guint n = l.latencies->len;
        printf("%.3f %.3f %.3f %u %.0f %ld %ld\n", g_array_index(l.latencies, double, n / 2),
               g_array_index(l.latencies, double, (guint) (n * 0.99)), g_array_index(l.latencies, double, n - 1), n,
               (double) l.sent / l.seconds, before, l.rss_peak);
        sd_event_source_unref(tick);
        sd_bus_flush_close_unref(l.bus);
        sd_event_unref(l.event);
        g_array_unref(l.latencies);
        return 0;
}
