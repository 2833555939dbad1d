#ifndef CSTATICCALL_ENGINE_H
#define CSTATICCALL_ENGINE_H
/* The shim's one platform condition (Swift's is `os(Linux) && arch(x86_64) && canImport(Glibc) &&
   !STATICCALL_FORCE_PORTABLE`): the patching engine and the image machinery exist on x86-64 Linux with
   glibc. Everywhere else, and when the package trait ForcePortable defines STATICCALL_FORCE_PORTABLE (to
   compile and test the portable branch on Linux), every entry point has its indirect-mode stand-in. */
#include <errno.h> /* defines __GLIBC__ through <features.h> where glibc is the C library */
#if defined(__linux__) && defined(__x86_64__) && defined(__GLIBC__) && !defined(STATICCALL_FORCE_PORTABLE)
#define CSTATICCALL_ENGINE 1
#endif
#endif
