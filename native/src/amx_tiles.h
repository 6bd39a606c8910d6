// Tile shapes and their lifetime for the AMX kernel files: include after the file's `#pragma GCC target`
// (with amx-tile), so the intrinsics compile for it.
#pragma once
#include <immintrin.h>
#include <cstdint>

namespace pixtral {

// The LDTILECFG operand: palette 1, then bytes per row and rows of each of the eight tiles.
struct alignas(64) TileConfig {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

// Tiles 0–3: 16 rows × 64 bytes (outputs); 4 and 5: A operands, 16 rows × a_bytes; the next b_tiles: B operands,
// b_rows × 64 bytes; any left (tile 7 when b_tiles is 1): outputs again.
inline TileConfig MakeTileConfig(int a_bytes, int b_rows, int b_tiles) {
  TileConfig c{};
  c.palette = 1;
  for (int i = 0; i < 8; i++) {
    const bool a = i == 4 || i == 5, b = i >= 6 && i < 6 + b_tiles;
    c.rows[i] = b ? b_rows : 16;
    c.colsb[i] = a ? a_bytes : 64;
  }
  return c;
}

// Clears the four output tiles (0–3) before a run of products is accumulated into them.
inline void ZeroOutputTiles() {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
}

// Loads the tile shapes on this thread for a task's lifetime and releases the tile state after.
class TileScope {
 public:
  explicit TileScope(const TileConfig& config) { _tile_loadconfig(&config); }
  ~TileScope() { _tile_release(); }
  TileScope(const TileScope&) = delete;
  TileScope& operator=(const TileScope&) = delete;
};

}  // namespace pixtral
