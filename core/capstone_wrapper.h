/*
 * capstone_wrapper — the one place capstone's headers enter sockshift (core/disasm.c only).
 *
 * Capstone's headers do not build cleanly with our warning set; the system_header pragma
 * keeps their warnings out of our build without loosening the flags for our own code.
 */
#ifndef SOCKSHIFT_CAPSTONE_WRAPPER_H
#define SOCKSHIFT_CAPSTONE_WRAPPER_H

#pragma GCC system_header

#include <capstone/capstone.h>   /* cs_open, cs_disasm_iter, cs_insn, cs_x86 details */

#endif
