// x86-64 System V context switch. Layout is checked in internal/context.h; keep them in sync.
//   void tt_fiber_swap(Context* from /*rdi*/, Context* to /*rsi*/)
#if defined(__x86_64__)
        .text
        .globl  tt_fiber_swap
        .type   tt_fiber_swap, @function
        .p2align 4
tt_fiber_swap:
        .cfi_startproc
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movq    %rsp, (%rdi)
        movq    (%rsi), %rsp
        ldmxcsr (%rsp)
        fldcw   4(%rsp)
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .cfi_endproc
        .size   tt_fiber_swap, .-tt_fiber_swap

// Reached by the first swap's `ret`, with rsp 16-byte aligned; r12 = entry, r13 = arg.
        .globl  tt_fiber_trampoline
        .type   tt_fiber_trampoline, @function
        .p2align 4
tt_fiber_trampoline:
        .cfi_startproc
        .cfi_undefined rip
        xorl    %ebp, %ebp
        movq    %r13, %rdi
        callq   *%r12
        ud2
        .cfi_endproc
        .size   tt_fiber_trampoline, .-tt_fiber_trampoline
#endif
        .section .note.GNU-stack,"",@progbits
