(cos
system
Vtouch HOSTILE_MARKER
o.