#pragma once
// What Qt's event queue guarantees, said to ThreadSanitizer. TSan sees the
// order a mutex or an atomic gives only in code built with -fsanitize=thread;
// Qt's queue (postEvent and its delivery) lives in libQt6Core, which is not,
// so under TSan a call one thread posts and another runs looks as if both
// touched its data at once. The worker's calls (ModelWorker.cpp) are built
// completely before they are posted; the sender releases the receiver just
// before posting and the receiver acquires itself just before running one.
// That is the order the queue gives, no more: the channel is the receiving
// object, where Qt's lock is per thread. Outside a TSan build these compile
// to nothing.
#if defined(__SANITIZE_THREAD__)
#define SCALPEL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SCALPEL_TSAN 1
#endif
#endif

#ifdef SCALPEL_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace tsan {

#ifdef SCALPEL_TSAN
inline constexpr bool kEnabled = true;
// Everything this thread did so far happens before what a later acquire() of
// the same channel is followed by.
inline void release(const void* channel) {
    __tsan_release(const_cast<void*>(channel));
}
inline void acquire(const void* channel) {
    __tsan_acquire(const_cast<void*>(channel));
}
#else
inline constexpr bool kEnabled = false;
inline void release(const void*) {}
inline void acquire(const void*) {}
#endif

} // namespace tsan
