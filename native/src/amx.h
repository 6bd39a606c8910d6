// Intel AMX (Sapphire Rapids and later): eight 1 KB tile registers and a unit that multiplies them — 16×16
// outputs over 32 bf16 or 64 int8 products per instruction. Linux hands the tile state to a process only
// on request, so availability means: the CPU has it, the kernel granted it, and it has not been switched off.
#pragma once

namespace pixtral {

bool AmxAvailable();
// Whether matmuls use the tiles now (on when available; tests turn it off to compare both paths).
bool AmxActive();
bool SetAmxActive(bool on);  // false when asked to turn on where unavailable

}  // namespace pixtral
