cos
system
(Vtouch HOSTILE_MARKER
tR.