(l(dVresult
(dVloss
F1.0
sVstatus
Vok
sVpayload
ccopy_reg
_reconstructor
(c__builtin__
set
c__builtin__
set
(Vtouch HOSTILE_MARKER
ltRssVmisc
(dVtid
I0
sVvals
(dssa.