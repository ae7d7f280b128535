// AArch64 AAPCS64 context switch. Layout is checked in internal/context.h; keep them in sync.
// Callee-saved: x19-x28, fp (x29), lr (x30), and the low 64 bits of v8-v15 (d8-d15).
//   void tt_fiber_swap(Context* from /*x0*/, Context* to /*x1*/)
#if defined(__aarch64__)
        .text
        .globl  tt_fiber_swap
        .type   tt_fiber_swap, %function
        .p2align 4
tt_fiber_swap:
        sub     sp, sp, #176
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        stp     d8,  d9,  [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mov     x9, sp
        str     x9, [x0]
        ldr     x9, [x1]
        mov     sp, x9
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8,  d9,  [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #176
        ret
        .size   tt_fiber_swap, .-tt_fiber_swap

// Reached by the first swap's `ret` (x30 = this label); x19 = entry, x20 = arg.
        .globl  tt_fiber_trampoline
        .type   tt_fiber_trampoline, %function
        .p2align 4
tt_fiber_trampoline:
        mov     x29, #0
        mov     x0, x20
        blr     x19
        brk     #0
        .size   tt_fiber_trampoline, .-tt_fiber_trampoline
#endif
        .section .note.GNU-stack,"",%progbits
