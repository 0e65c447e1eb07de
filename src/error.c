#include "error.h"

G_DEFINE_QUARK(leakguard-error-quark, lg_error)
