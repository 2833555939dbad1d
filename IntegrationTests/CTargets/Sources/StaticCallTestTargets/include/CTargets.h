#ifndef STATICCALL_CTARGETS_H
#define STATICCALL_CTARGETS_H
/// (Int) -> Int targets: the Swift calling convention passes and returns an Int as C does a long.
long staticcall_ctarget_times19(long x);
long staticcall_ctarget_times23(long x);
#endif
