/* leakguard's error domain: one code per D-Bus error of DESIGN.md §3, so the bus layer maps
 * a GError to a named D-Bus error without guessing. */
#pragma once

#include <glib.h>

#define LG_ERROR (lg_error_quark())
GQuark lg_error_quark(void);

typedef enum {
        LG_ERROR_NO_SUCH_POLICY,     /* org.leakguard.LeakGuard1.Error.NoSuchPolicy */
        LG_ERROR_INVALID_PARAMETERS, /* ...Error.InvalidParameters */
        LG_ERROR_INVALID_POLICY,     /* ...Error.InvalidPolicy */
        LG_ERROR_APPLY_FAILED,       /* ...Error.ApplyFailed */
} LgErrorCode;

/* `msg` fit for a D-Bus string (a reply's error message, Status' Reason): invalid UTF-8 replaced,
 * cut to at most `max` characters with "…". sd-bus refuses to send a string that is not UTF-8, and
 * the caller would then get no reply at all. */
char *lg_error_text(const char *msg, size_t max);
