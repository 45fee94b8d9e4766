build-tsan/vnum.o: server/vnum.c server/common.h server/vnum.h \
 server/order.h
server/common.h:
server/vnum.h:
server/order.h:
