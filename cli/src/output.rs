//! Writing per-site results: JSON Lines, CSV and a terminal table.
