/* Shared by the fuzz targets. Each target is a plain LLVMFuzzerTestOneInput(): built with
 * -fsanitize=fuzzer when LEAKGUARD_FUZZ is on, and always linked with replay.c, so that the seed
 * corpus and every input that once crashed are replayed by ctest in every build (gcc, ASan). */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An oracle failed: abort, so that libFuzzer keeps the input and the replay test fails. */
#define FUZZ_CHECK(cond, ...)                                                                   \
        do {                                                                                     \
                if (!(cond)) {                                                                   \
                        fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
                        fprintf(stderr, __VA_ARGS__);                                            \
                        fputc('\n', stderr);                                                     \
                        abort();                                                                 \
                }                                                                                \
        } while (0)

/* Every error that can reach a D-Bus caller must be valid UTF-8 (sd-bus refuses to send an error
 * whose message is not, and the caller would then wait for a reply that never comes), must say
 * something, and must stay short whatever the input's size (no echo of a 1 MB value). */
static inline void fuzz_check_error(const GError *e) {
        FUZZ_CHECK(e != NULL, "failure without an error");
        FUZZ_CHECK(e->message && e->message[0], "empty error message");
        FUZZ_CHECK(g_utf8_validate(e->message, -1, NULL), "error message is not UTF-8: %s", e->message);
        FUZZ_CHECK(strlen(e->message) < 4096, "error message of %zu bytes", strlen(e->message));
}

/* GLib's warnings and criticals are bugs here. abort() (SIGABRT), not GLib's fatal-warnings
 * breakpoint (SIGTRAP), so that libFuzzer keeps the input. */
static void fuzz_log_handler(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data) {
        fprintf(stderr, "%s: %s\n", domain ? domain : "", message);
        if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
                abort();
}

static inline void fuzz_init_glib(void) {
        g_log_set_default_handler(fuzz_log_handler, NULL);
}
