(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
(Vtouch HOSTILE_MARKER
ibuiltins
getattr.__self__.exec
ssVmisc
(dVtid
I0
sVvals
(dssa.