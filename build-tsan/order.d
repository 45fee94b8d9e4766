build-tsan/order.o: server/order.c server/common.h server/order.h \
 server/crypto.h server/json.h /usr/include/cjson/cJSON.h
server/common.h:
server/order.h:
server/crypto.h:
server/json.h:
/usr/include/cjson/cJSON.h:
