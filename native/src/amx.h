// Intel AMX (Sapphire Rapids and later): eight 1 KB tile registers and a unit that multiplies them — 16×16
// outputs over 32 bf16 or 64 int8 products per instruction. Linux hands the tile state to a process only
// on request, so availability means: the CPU has it and the kernel granted it. The "amx" kernel set uses it.
#pragma once

namespace pixtral {

bool AmxAvailable();

}  // namespace pixtral
