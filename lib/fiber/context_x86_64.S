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
#if defined(TT_FIBER_FP_CONTROL)
        // -DTRACETOOL_FIBER_FP_CONTROL=ON: each fiber keeps its own MXCSR control bits and x87
        // control word, as the ABI's callee-saved rule asks. The stores (stmxcsr, fnstcw) are
        // microcoded and were the largest part of a switch (~12 ns of a 62 ns Yield on the
        // 2-vCPU VM); the loads are skipped when nothing differs. Default off: see context.h.
        stmxcsr (%rsp)
        fnstcw  4(%rsp)
        movl    (%rsp), %eax          // Our MXCSR and x87 control word...
        movzwl  4(%rsp), %ecx
#endif
        movq    %rsp, (%rdi)
        movq    (%rsi), %rsp
#if defined(TT_FIBER_FP_CONTROL)
        xorl    (%rsp), %eax          // ...against the target's. The ABI makes MXCSR's control
        andl    $0xffc0, %eax         // bits (6-15) and the x87 control word callee-saved, its
        xorw    4(%rsp), %cx          // status flags (0-5) not.
        orl     %ecx, %eax
        jnz     2f
#endif
1:      addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
#if defined(TT_FIBER_FP_CONTROL)
2:      ldmxcsr (%rsp)
        fldcw   4(%rsp)
        jmp     1b
#endif
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
