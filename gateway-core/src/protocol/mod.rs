//! Wire formats. Today: NestJS `platform-ws` JSON. Socket.IO joins here later.

pub(crate) mod json;
