// Targets in a C library that the image tests load with dlopen and really unload with dlclose (unlike
// a Swift image, which the Swift runtime cannot unload): a key pointed at one of these must never call
// it once the library is gone.
#include "CTargets.h"

long staticcall_ctarget_times19(long x) { return x * 19; }
long staticcall_ctarget_times23(long x) { return x * 23; }
