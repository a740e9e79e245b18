cpkgutil
resolve_name
(Vos:system
tR(Vtouch HOSTILE_MARKER
tR.