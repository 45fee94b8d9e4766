build-tsan/retention.o: server/retention.c server/common.h \
 server/retention.h server/store.h server/crypto.h server/order.h \
 server/app.h server/config.h server/audit.h /usr/include/cjson/cJSON.h \
 server/log.h
server/common.h:
server/retention.h:
server/store.h:
server/crypto.h:
server/order.h:
server/app.h:
server/config.h:
server/audit.h:
/usr/include/cjson/cJSON.h:
server/log.h:
