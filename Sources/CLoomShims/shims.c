// Intentionally empty: SwiftPM needs one source file in a C target; the shims are inline in the header.
#include "CLoomShims.h"
