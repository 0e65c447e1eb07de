/* One Enable with a list parameter read from a file, timed from building the message to the reply,
 * for bench/run.sh: the same call as `client.py call`, made with sd-bus, so that the figure is the
 * daemon's and the bus's time. dbus-python turns each of 100,000 strings into a D-Bus item one
 * Python object at a time, which a program in C (or a GUI's D-Bus library) does not pay.
 *
 *   lg-enable-call POLICY PARAM FILE
 *
 * FILE holds one item a line. Prints the seconds; an error reply fails the run. */
#include <glib.h>
#include <stdio.h>
#include <systemd/sd-bus.h>
#include <time.h>

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        if (argc != 4) {
                fprintf(stderr, "usage: %s POLICY PARAM FILE\n", argv[0]);
                return 2;
        }
        g_autofree char *text = NULL;
        g_autoptr(GError) e = NULL;
        if (!g_file_get_contents(argv[3], &text, NULL, &e)) {
                fprintf(stderr, "%s\n", e->message);
                return 1;
        }
        g_auto(GStrv) lines = g_strsplit(g_strchomp(text), "\n", -1);
        sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "cannot connect to the system bus: %s\n", g_strerror(-r));
                return 1;
        }
        double t = now();
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        r = sd_bus_message_new_method_call(bus, &m, "org.leakguard.LeakGuard1", "/org/leakguard/LeakGuard1",
                                           "org.leakguard.LeakGuard1.Manager", "Enable");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[1]);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", argv[2]);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, lines);
        for (int i = 0; i < 3 && r >= 0; i++)
                r = sd_bus_message_close_container(m);
        if (r < 0) {
                fprintf(stderr, "cannot build the call: %s\n", g_strerror(-r));
                return 1;
        }
        r = sd_bus_call(bus, m, 120 * 1000000ULL, &error, &reply);
        double took = now() - t;
        if (r < 0) {
                fprintf(stderr, "Enable failed: %s\n", error.message ? error.message : g_strerror(-r));
                return 1;
        }
        printf("%.6f\n", took);
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
        sd_bus_flush_close_unref(bus);
        return 0;
}
