// Doorstep console: every screen works without this file; it only adds comfort.
"use strict";
