//! Reading the user's site list: CSV `agency,category,parent,url` or a plain list, UTF-8
//! (BOM allowed) or Big5, with every bad line reported by number.

// Implemented in the next commit.
