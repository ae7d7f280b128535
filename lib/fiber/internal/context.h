// Context: the saved machine state of a suspended fiber, and the one primitive that switches
// between two of them (STYLE.md P12).
//
// A suspended fiber's callee-saved registers live on its own stack; Context holds only the stack
// pointer, so a switch is six pushes, two stores and six pops. The .S files
// (context_x86_64.S, context_aarch64.S) hard-code the frame layout described below; the
// static_asserts here keep the C++ view of it honest.
//
// Floating-point control state (x86-64: MXCSR control bits and the x87 control word, which the
// SysV ABI makes callee-saved) is saved only with -DTRACETOOL_FIBER_FP_CONTROL=ON, and then
// reloaded only when the target fiber's differs. By default it is not: stmxcsr/fnstcw are
// microcoded and cost ~12 ns of a ~60 ns Yield ping-pong, so, like Go (goroutines never save
// MXCSR) and marl, fibers share their thread's FP environment: a fiber that calls fesetround()
// or unmasks exceptions must restore them before it yields or blocks. All Ms start with the
// process default, so a fiber moving between Ms sees no difference. The frame keeps its 8-byte
// slot either way (the layout below, and 16-byte alignment, do not change).
//
// What is NOT saved, and why that is safe: caller-saved (volatile) registers, because
// tt_fiber_swap is an ordinary function call and the compiler already assumes they are clobbered;
// the red zone, because nothing below the stack pointer is live across a call; signal masks,
// because fibers never change them (which is also why we do not use swapcontext(3), which makes
// a sigprocmask system call on every switch).
#ifndef TRACETOOL_LIB_FIBER_INTERNAL_CONTEXT_H_
#define TRACETOOL_LIB_FIBER_INTERNAL_CONTEXT_H_

#include <cstddef>
#include <cstdint>

namespace tracetool::fiber::internal {

struct Context {
  void* sp = nullptr;  // Top of the saved frame, see kFrame* below.
};

#if defined(__x86_64__)
// Saved frame, lowest address first: [mxcsr:4 x87cw:4] r15 r14 r13 r12 rbx rbp ret.
inline constexpr size_t kFrameFpCtl = 0;
inline constexpr size_t kFrameR12 = 32;  // First fiber entry: function pointer.
inline constexpr size_t kFrameR13 = 24;  // First fiber entry: its argument.
inline constexpr size_t kFrameRet = 56;
inline constexpr size_t kFrameSize = 64;
#elif defined(__aarch64__)
// Saved frame, lowest address first: x19..x30 (12 x 8 bytes), d8..d15 (8 x 8 bytes), pad.
inline constexpr size_t kFrameX19 = 0;   // First fiber entry: function pointer.
inline constexpr size_t kFrameX20 = 8;   // First fiber entry: its argument.
inline constexpr size_t kFrameX30 = 88;  // Link register: where the switch returns to.
inline constexpr size_t kFrameSize = 176;
#else
#error "lib/fiber: no context switch for this ISA"
#endif
static_assert(offsetof(Context, sp) == 0, "the .S files load and store Context::sp at offset 0");
static_assert(sizeof(Context) == sizeof(void*));
static_assert(kFrameSize % 16 == 0, "the ABI wants 16-byte aligned stacks");

using FiberEntry = void (*)(void* arg);

// MakeContext() prepares ctx so that the first tt_fiber_swap() into it calls entry(arg) on the
// stack [stack_lo, stack_hi). entry must never return.
void MakeContext(Context* ctx, void* stack_lo, size_t stack_size, FiberEntry entry, void* arg);

}  // namespace tracetool::fiber::internal

extern "C" {
// Saves the current callee-saved state in *from and resumes *to. Returns when someone swaps
// back into *from.
void tt_fiber_swap(tracetool::fiber::internal::Context* from,
                   tracetool::fiber::internal::Context* to);
// First frame of every fiber: calls the entry function kept in the saved registers.
void tt_fiber_trampoline();
}

#endif  // TRACETOOL_LIB_FIBER_INTERNAL_CONTEXT_H_
