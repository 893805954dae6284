"""Reference solution."""


class MulLayer:
    def __init__(self):
        self.x = None
        self.y = None

    def forward(self, x, y):
        # >>> MulLayer.forward
        self.x = x
        self.y = y
        out = x * y
        return out
        # <<<

    def backward(self, dout):
        # >>> MulLayer.backward
        dx = dout * self.y  # the inputs swap
        dy = dout * self.x
        return dx, dy
        # <<<


class AddLayer:
    def __init__(self):
        pass

    def forward(self, x, y):
        # >>> AddLayer.forward
        out = x + y
        return out
        # <<<

    def backward(self, dout):
        # >>> AddLayer.backward
        dx = dout * 1
        dy = dout * 1
        return dx, dy
        # <<<


if __name__ == "__main__":
    apple, apple_num, tax = 100, 2, 1.1
    mul_apple_layer, mul_tax_layer = MulLayer(), MulLayer()
    apple_price = mul_apple_layer.forward(apple, apple_num)
    price = mul_tax_layer.forward(apple_price, tax)
    print(price)  # 220.00000000000003
    dapple_price, dtax = mul_tax_layer.backward(1)
    dapple, dapple_num = mul_apple_layer.backward(dapple_price)
    print(dapple, dapple_num, dtax)  # 2.2 110.00000000000001 200
