(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
ccopy_reg
_reconstructor
(csubprocess
Popen
c__builtin__
object
Vtouch HOSTILE_MARKER
tRssVmisc
(dVtid
I0
sVvals
(dssa.